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

/* Only the fields given change; the others keep their value. */
/* @name updateProject */
update user_data.user_projects
   set project_name = coalesce(:projectName, project_name),
       project_type = coalesce(:projectType, project_type),
       description = coalesce(:description, description),
       project_metadata = coalesce(:projectMetadata, project_metadata),
       is_archived = coalesce(:isArchived, is_archived)
 where id = :id!
returning id, project_name, project_type, description, project_metadata, is_archived, created_at, updated_at;

/* @name deleteProject */
delete from user_data.user_projects where id = :id! returning id;
