/* A user's AI writing personas. Run inside withUserContext. */

/* @name listPersonas */
select id, persona_name, description, characteristics, created_at, updated_at
  from user_data.user_personas
 order by persona_name;

/* @name createPersona */
insert into user_data.user_personas (persona_name, description, characteristics)
values (:personaName!, :description, coalesce(:characteristics::jsonb, '{}'))
returning id, persona_name, description, characteristics, created_at, updated_at;

/* Only the columns named in fields change (to null too, as in the API's
   patches); the others keep their value. */
/* @name updatePersona */
update user_data.user_personas
   set persona_name = case when 'persona_name' = any (:fields!::text[]) then :personaName else persona_name end,
       description = case when 'description' = any (:fields!::text[]) then :description else description end,
       characteristics = case when 'characteristics' = any (:fields!::text[]) then :characteristics::jsonb else characteristics end
 where id = :id!
returning id, persona_name, description, characteristics, created_at, updated_at;

/* @name deletePersona */
delete from user_data.user_personas where id = :id! returning id;
