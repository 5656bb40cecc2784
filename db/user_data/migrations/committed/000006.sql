--! Previous: sha1:bb94bca07831fe5608aa32a6b9af734db3e061c5
--! Hash: sha1:a7a4e1b0e2269da221b08ece86de5e2b9b8b4531

-- Readiness (GET /ready) compares the migrations applied here with the ones the
-- API was built with, through the API's own login: it may read the file names
-- graphile-migrate records, and nothing else of that schema.
grant usage on schema graphile_migrate to :DATABASE_AUTHENTICATOR;
grant select (filename) on graphile_migrate.migrations to :DATABASE_AUTHENTICATOR;
