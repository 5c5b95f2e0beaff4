import { registerModel } from './cas-register.js';

export const model = registerModel('register', 'one read/write register', false);
