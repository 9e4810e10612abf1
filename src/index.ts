/** kvsd as a library: start a server from other projects' tests. */
export { startServer, type ServerOptions, type RunningServer } from './server.js';
export {
  PutMediaClient,
  KvsServiceError,
  type PutMediaInput,
  type PutMediaAck,
  type ClientOptions,
} from './client/putMediaClient.js';
