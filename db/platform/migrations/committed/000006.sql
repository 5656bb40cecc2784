--! Previous: sha1:46594193e045ee9901ca0ab4991d53354a1a4cd3
--! Hash: sha1:0d0bf06795403c725133d680f9f30d1aa96fea2e

-- Readiness (GET /ready) compares the migrations applied here with the ones the
-- API was built with, through the API's own login: it may read the file names
-- graphile-migrate records, and nothing else of that schema.
grant usage on schema graphile_migrate to :DATABASE_AUTHENTICATOR;
grant select (filename) on graphile_migrate.migrations to :DATABASE_AUTHENTICATOR;
