/**
 * Pulumi's entry point (see Pulumi.yaml). Its named exports are the stack
 * outputs: the environment variables src/config.ts reads. The resources are
 * declared in program.ts, which the tests import under mocks.
 */
export {
  CLERK_WEBHOOK_SECRET,
  DATABASE_ENV_PREFIX,
  DATABASE_POOLER_MODE,
  PLATFORM_DATABASE_URL,
  PLATFORM_MIGRATION_DATABASE_URL,
  USER_DATA_DATABASE_URL,
  USER_DATA_MIGRATION_DATABASE_URL,
} from "./program.ts";
