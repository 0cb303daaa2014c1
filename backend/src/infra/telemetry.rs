//! Logs and traces, for the server and the worker alike.
//!
//! Every `tracing` span is also an OpenTelemetry span. A request continues the W3C trace
//! its `traceparent` header names (the browser's client sends one with uploads; a proxy or
//! another service may too), or starts one. An event written to the outbox carries the
//! `traceparent` of the span that wrote it, through Kafka as a message header, into the
//! worker, whose handling of it is a child span: one trace from the browser's request
//! to the transcode. Inside a request, each server function call, repository call (a group
//! of SQL statements) and object-store call is a span too. With `REFRAIN_OTLP_ENDPOINT` set, spans are exported in batches over
//! OTLP/HTTP (protobuf) to `<endpoint>/v1/traces` (an OpenTelemetry Collector, Jaeger,
//! Tempo...); without it they still give the logs their `trace_id`.

use crate::Config;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SamplingDecision, SamplingResult};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, ShouldSample};
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The installed tracer; [`Telemetry::shutdown`] exports what is still buffered.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Exports the spans not yet sent (call once, at shutdown).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

/// The OTLP/HTTP traces URL for `REFRAIN_OTLP_ENDPOINT` (a base such as
/// `http://collector:4318`, or the full `.../v1/traces`).
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Installs logging (text, or JSON lines with `REFRAIN_LOG_FORMAT=json`; `RUST_LOG`
/// filters, else `default_filter`) and tracing for `service` (`refrain` or
/// `refrain-worker`). Runs inside the tokio runtime: the exporter sends from it.
pub fn init(
    service: &'static str,
    config: &Config,
    default_filter: &str,
) -> anyhow::Result<Telemetry> {
    let mut builder = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build(),
    );
    if let Some(endpoint) = &config.telemetry.otlp_endpoint {
        use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(
                reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(10))
                    .build()?,
            )
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .build()?;
        let processor =
            opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
                exporter,
                opentelemetry_sdk::runtime::Tokio,
            )
            .build();
        builder = builder.with_span_processor(processor);
    }
    let provider = builder.with_sampler(WorkOnly::new()).build();
    // Traces get every span at info and above whatever `RUST_LOG` keeps in the logs.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service))
        .with_tracked_inactivity(false)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| default_filter.into())
    };
    let registry = tracing_subscriber::registry().with(otel);
    if config.telemetry.log_json {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_filter(filter()),
            )
            .try_init()?;
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_filter(filter()))
            .try_init()?;
    }
    Ok(Telemetry { provider })
}

/// The sampler: every trace a request or an event starts, and everything inside one; not
/// the database or storage calls of a background loop on their own (the outbox relay asks
/// for pending events twice a second, and each ask would be a trace of its own).
#[derive(Debug, Clone)]
struct WorkOnly {
    /// What decides the rest: a child follows its parent, a root is kept.
    otherwise: Sampler,
}

impl WorkOnly {
    fn new() -> Self {
        WorkOnly {
            otherwise: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        }
    }
}

impl ShouldSample for WorkOnly {
    fn should_sample(
        &self,
        parent: Option<&opentelemetry::Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        kind: &opentelemetry::trace::SpanKind,
        attributes: &[opentelemetry::KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> SamplingResult {
        let in_trace = parent.is_some_and(|cx| cx.span().span_context().is_valid());
        if !in_trace && (name.starts_with(SQL_SPAN) || name.starts_with(STORAGE_SPAN)) {
            return SamplingResult {
                decision: SamplingDecision::Drop,
                attributes: Vec::new(),
                trace_state: Default::default(),
            };
        }
        self.otherwise
            .should_sample(parent, trace_id, name, kind, attributes, links)
    }
}

/// How the spans of repository functions (a group of SQL statements) and object-store calls
/// begin: `sql catalog.tracks`, `object_store get_range`.
pub const SQL_SPAN: &str = "sql ";
pub const STORAGE_SPAN: &str = "object_store ";

/// Whether `s` is a well-formed W3C `traceparent` (version 00).
fn well_formed(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let hex = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && parts[1].bytes().any(|b| b != b'0')
        && parts[2].bytes().any(|b| b != b'0')
}

/// Makes `span` (just created, not yet entered) continue the trace `traceparent` names, if
/// any and well formed, names it `name` in traces, and records the trace id in its
/// `trace_id` field for the logs.
pub fn continue_trace(span: &tracing::Span, name: String, traceparent: Option<&str>) {
    if let Some(tp) = traceparent.map(str::trim).filter(|t| well_formed(t)) {
        let carrier = HashMap::from([("traceparent".to_string(), tp.to_ascii_lowercase())]);
        let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
    }
    self::name(span, name);
    let sc = span.context().span().span_context().clone();
    if sc.is_valid() {
        span.record("trace_id", tracing::field::display(sc.trace_id()));
    }
}

/// Names `span` in traces. (A `tracing` span's own name is a constant; naming it through
/// an `otel.name` field would repeat the name in every log line inside it.)
pub fn name(span: &tracing::Span, name: String) {
    span.context().span().update_name(name);
}

/// The W3C `traceparent` of the current span: what an event written now carries on.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState};

    #[test]
    fn background_calls_start_no_traces() {
        let decide = |parent: Option<&opentelemetry::Context>, name: &str| {
            WorkOnly::new()
                .should_sample(
                    parent,
                    TraceId::from(7u128),
                    name,
                    &SpanKind::Internal,
                    &[],
                    &[],
                )
                .decision
        };
        assert_eq!(
            decide(None, "sql events.claim_pending"),
            SamplingDecision::Drop
        );
        assert_eq!(decide(None, "object_store list"), SamplingDecision::Drop);
        assert_eq!(decide(None, "request"), SamplingDecision::RecordAndSample);
        assert_eq!(
            decide(None, "handle import.requested"),
            SamplingDecision::RecordAndSample
        );
        let parent = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ));
        assert_eq!(
            decide(Some(&parent), "sql events.enqueue"),
            SamplingDecision::RecordAndSample
        );
    }

    #[test]
    fn traceparents_are_checked() {
        assert!(well_formed(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
