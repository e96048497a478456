// the one silent logger lives beside the root logger, so the simulators can default to it
export { silentLogger } from '@owc/observability';
