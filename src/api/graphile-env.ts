/**
 * Grafast reads GRAPHILE_ENV when it is first imported: development mode adds
 * checks and clearer errors, production mode is faster. Entry points import
 * this module first so the mode follows ENVIRONMENT unless set explicitly.
 */
process.env.GRAPHILE_ENV ??= process.env.ENVIRONMENT === "production" ? "production" : "development";
