// The deployment profile: schema, loader and types.
export { AgentPool, Profile, ProfileError, loadProfile, parseProfile } from "./load";
export { DEFAULT_JOBS, DEFAULT_SERVICES, SINGLETON_SERVICES, profileSchema } from "./schema";
