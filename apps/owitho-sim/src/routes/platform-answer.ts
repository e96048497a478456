import { errorAnswer, okAnswer } from '@owc/protocol';
import type { FastifyReply } from 'fastify';
import type { OwithoSim } from '../owitho-sim.js';

/** Counts the answer of a platform call (per path and code) and sends it as `{code,msg,data?}`. */
export function platformAnswer(
  sim: OwithoSim,
  path: string,
  reply: FastifyReply,
  code: number,
  msg: string,
  data?: unknown,
) {
  sim.count(path, code);
  return reply.send(code === 200 ? okAnswer(data) : errorAnswer(code, msg));
}
