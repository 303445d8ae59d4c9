/** The node's HTTP JSON API: routes (api.ts) and the node:http server (server.ts). */
export { type ApiRequest, type ApiResponse, handleApi, MAX_BODY_BYTES } from './api.js';
export { type ApiServer, startApiServer } from './server.js';
