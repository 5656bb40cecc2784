/* A user's projects. Every query runs inside withUserContext: row-level
   security limits it to the signed-in user's rows, and new rows take their
   user_id from the same setting. */

/* @name listProjects */
select id, project_name, project_type, description, project_metadata, is_archived, created_at, updated_at
  from user_data.user_projects
 where is_archived = false or :includeArchived! = true
 order by created_at desc, id;

/* @name createProject */
insert into user_data.user_projects (project_name, project_type, description, project_metadata)
values (:projectName!, :projectType!, :description, coalesce(:projectMetadata::jsonb, '{}'))
returning id, project_name, project_type, description, project_metadata, is_archived, created_at, updated_at;

/* Only the columns named in fields change (to null too, as in the API's
   patches); the others keep their value. */
/* @name updateProject */
update user_data.user_projects
   set project_name = case when 'project_name' = any (:fields!::text[]) then :projectName else project_name end,
       project_type = case when 'project_type' = any (:fields!::text[]) then :projectType else project_type end,
       description = case when 'description' = any (:fields!::text[]) then :description else description end,
       project_metadata = case when 'project_metadata' = any (:fields!::text[]) then :projectMetadata::jsonb else project_metadata end,
       is_archived = case when 'is_archived' = any (:fields!::text[]) then :isArchived else is_archived end
 where id = :id!
returning id, project_name, project_type, description, project_metadata, is_archived, created_at, updated_at;

/* @name deleteProject */
delete from user_data.user_projects where id = :id! returning id;
