// The deployment profile: schema, loader and types.
export { AgentPool, Profile, ProfileError, loadProfile, parseProfile, readProfileText } from "./load";
export { environmentTaken, secureStackKeys, stackConfig, stackEnvironments } from "./stacks";
export { DEFAULT_RELEASE, Release, imageFor, imageProblem, registryProblem } from "./release";
export { DATABASES, DEFAULT_JOBS, DEFAULT_SERVICES, JobProfile, SINGLETON_SERVICES, ServiceProfile, profileSchema } from "./schema";
