import { startGrpcServer } from './dist/src/transport/grpc-server.js';
import { TokenVerifyService } from './dist/src/gen/tessera/v1/token_verify_service_pb.js';
import { execFileSync } from 'node:child_process';
const s = await startGrpcServer({ host:'127.0.0.1', port:0, services:[{desc:TokenVerifyService, impl:{}}], authenticate: async()=>undefined });
try { console.log(execFileSync('npx',['buf','curl','--protocol','grpc','--http2-prior-knowledge','--list-services',`http://127.0.0.1:${s.port}`]).toString()); } catch(e) { console.log(String(e.stdout), String(e.stderr)); }
await s.close();
