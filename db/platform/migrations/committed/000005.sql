--! Previous: sha1:72e95bf6134371d79929f5911497f77b0bee6cf6
--! Hash: sha1:5fab33ea12d40797214cafa5b66c73e0484dede8

-- Readiness (GET /ready) compares the migrations applied here with the ones the
-- API was built with, through the API's own login: it may read the file names
-- graphile-migrate records, and nothing else of that schema.
grant usage on schema graphile_migrate to :DATABASE_AUTHENTICATOR;
grant select (filename) on graphile_migrate.migrations to :DATABASE_AUTHENTICATOR;
