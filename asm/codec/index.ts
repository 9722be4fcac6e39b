export function codecVersion(): u32 { return 1; }
