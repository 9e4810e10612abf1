/** kvsd as a library: start a server from other projects' tests. */
export { startServer, type ServerOptions, type RunningServer } from './server.js';
