-- The W3C trace context of the request that wrote an event (see backend/src/telemetry.rs).
ALTER TABLE outbox ADD COLUMN traceparent TEXT;
