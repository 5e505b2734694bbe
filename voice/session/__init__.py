"""The live part of a phone call: one CallSession per call, made of asyncio tasks joined by queues."""
