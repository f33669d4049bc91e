import 'reflect-metadata';
// Runs before each test file's imports: values read at import time must be set here (stack-notes §5).
process.env.LOG_LEVEL ??= 'silent';
process.env.QUEUE_PREFIX ??= `sbtest-${process.pid}`;
