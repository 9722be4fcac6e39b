export function topicVersion(): u32 { return 1; }
