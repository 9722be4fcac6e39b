export * from './memory';
export * from './codec/index';
