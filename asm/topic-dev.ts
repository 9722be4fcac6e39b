export * from './memory';
export * from './topic/index';
