/* A user's AI writing personas. Run inside withUserContext. */

/* @name listPersonas */
select id, persona_name, description, characteristics, created_at, updated_at
  from user_data.user_personas
 order by persona_name;

/* @name createPersona */
insert into user_data.user_personas (persona_name, description, characteristics)
values (:personaName!, :description, coalesce(:characteristics::jsonb, '{}'))
returning id, persona_name, description, characteristics, created_at, updated_at;

/* Only the fields given change; the others keep their value. */
/* @name updatePersona */
update user_data.user_personas
   set persona_name = coalesce(:personaName, persona_name),
       description = coalesce(:description, description),
       characteristics = coalesce(:characteristics, characteristics)
 where id = :id!
returning id, persona_name, description, characteristics, created_at, updated_at;

/* @name deletePersona */
delete from user_data.user_personas where id = :id! returning id;
