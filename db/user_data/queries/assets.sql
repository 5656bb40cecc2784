/* A user's content assets. Run inside withUserContext (row-level security
   isolates users); the composite foreign key keeps an asset in a project of
   the same user. */

/* One page of a project's assets, newest first. */
/* @name listProjectAssets */
select id, project_id, persona_id, asset_type, title, content, seo_data, created_at, updated_at
  from user_data.user_content_assets
 where project_id = :projectId!
 order by created_at desc, id desc
 limit :limit! offset :offset!;

/* @name createAsset */
insert into user_data.user_content_assets (project_id, persona_id, asset_type, title, content, seo_data)
values (:projectId!, :personaId, :assetType!, :title, coalesce(:content::text, ''), coalesce(:seoData::jsonb, '{}'))
returning id, project_id, persona_id, asset_type, title, content, seo_data, created_at, updated_at;

/* @name deleteAsset */
delete from user_data.user_content_assets where id = :id! returning id;
