// The Web Worker entry of the lab: the engine, exposed with comlink. Nothing here may import Node-only
// modules (src/gpu/node-gpu.ts): in a worker, WebGPU is navigator.gpu.
import { expose } from 'comlink';
import { Engine } from './engine.ts';

expose(new Engine());
