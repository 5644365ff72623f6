//! Kafka's IncrementalAlterConfigs, through librdkafka's C API. The rdkafka crate wraps only
//! the older AlterConfigs, which replaces a topic's whole configuration (resetting every
//! setting it does not name) and which newer brokers and tansu no longer serve; librdkafka
//! itself has had the incremental call since 2.2. This is the one place the operator calls C
//! directly. Blocking: run it on a blocking thread.

use std::ffi::{CStr, CString, c_char};
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::types::RDKafkaRespErr;

use super::{Outcomes, TopicConfig};

/// Owns what librdkafka allocated for one call and frees it on every path.
struct Call {
    resources: Vec<*mut rd::rd_kafka_ConfigResource_t>,
    options: *mut rd::rd_kafka_AdminOptions_t,
    queue: *mut rd::rd_kafka_queue_t,
    event: *mut rd::rd_kafka_event_t,
}

impl Drop for Call {
    fn drop(&mut self) {
        // SAFETY: each pointer was returned by librdkafka's matching constructor, is owned
        // by this call alone, and is freed once here (null ones were never made).
        unsafe {
            if !self.event.is_null() {
                rd::rd_kafka_event_destroy(self.event);
            }
            if !self.queue.is_null() {
                rd::rd_kafka_queue_destroy(self.queue);
            }
            if !self.options.is_null() {
                rd::rd_kafka_AdminOptions_destroy(self.options);
            }
            for resource in &self.resources {
                rd::rd_kafka_ConfigResource_destroy(*resource);
            }
        }
    }
}

/// C text into Rust, lossily; empty for null.
///
/// # Safety
/// `text` is null or points to a NUL-terminated string that outlives the call.
unsafe fn text(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: as the function's contract says.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

fn c(value: &str) -> Result<CString, String> {
    CString::new(value).map_err(|_| format!("{value:?} holds a NUL byte"))
}

/// Sets each topic's given settings, leaving its others alone. `Err` when the request as a
/// whole failed; otherwise one outcome per topic, `Err` with the broker's words.
///
/// `client` is the native handle of a live rdkafka client (it stays valid while the caller
/// holds the client).
pub fn alter(
    client: *mut rd::rd_kafka_t,
    changes: &[(String, TopicConfig)],
    timeout: Duration,
) -> Result<Outcomes, String> {
    let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let mut call = Call {
        resources: Vec::new(),
        options: std::ptr::null_mut(),
        queue: std::ptr::null_mut(),
        event: std::ptr::null_mut(),
    };
    for (topic, config) in changes {
        let name = c(topic)?;
        // SAFETY: `name` is a valid C string; librdkafka copies it.
        let resource = unsafe {
            rd::rd_kafka_ConfigResource_new(
                rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                name.as_ptr(),
            )
        };
        call.resources.push(resource);
        for (key, value) in config {
            let (key, value) = (c(key)?, c(value)?);
            // SAFETY: `resource` is live; the strings are valid and copied.
            let error = unsafe {
                rd::rd_kafka_ConfigResource_add_incremental_config(
                    resource,
                    key.as_ptr(),
                    rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                    value.as_ptr(),
                )
            };
            if !error.is_null() {
                // SAFETY: a non-null error is ours to read and free.
                let message = unsafe {
                    let message = text(rd::rd_kafka_error_string(error));
                    rd::rd_kafka_error_destroy(error);
                    message
                };
                return Err(format!("{topic}: {message}"));
            }
        }
    }
    let mut errors = [0 as c_char; 512];
    // SAFETY: `client` is live (the caller's contract); the options, the queue and the
    // resources are live until `call` drops, after the answer has been read.
    unsafe {
        call.options = rd::rd_kafka_AdminOptions_new(
            client,
            rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        );
        let set = rd::rd_kafka_AdminOptions_set_request_timeout(
            call.options,
            timeout_ms,
            errors.as_mut_ptr(),
            errors.len(),
        );
        if set != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(text(errors.as_ptr()));
        }
        call.queue = rd::rd_kafka_queue_new(client);
        rd::rd_kafka_IncrementalAlterConfigs(
            client,
            call.resources.as_mut_ptr(),
            call.resources.len(),
            call.options,
            call.queue,
        );
        call.event = rd::rd_kafka_queue_poll(call.queue, timeout_ms.saturating_add(1000));
        if call.event.is_null() {
            return Err(format!("no answer within {timeout:?}"));
        }
        if rd::rd_kafka_event_error(call.event) != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(text(rd::rd_kafka_event_error_string(call.event)));
        }
        let result = rd::rd_kafka_event_IncrementalAlterConfigs_result(call.event);
        if result.is_null() {
            return Err("an answer that is not IncrementalAlterConfigs'".into());
        }
        let mut count = 0usize;
        let answered = rd::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count);
        Ok((0..count)
            .map(|i| {
                let resource = *answered.add(i);
                let name = text(rd::rd_kafka_ConfigResource_name(resource));
                let code = rd::rd_kafka_ConfigResource_error(resource);
                if code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
                    (name, Ok(()))
                } else {
                    let message = text(rd::rd_kafka_ConfigResource_error_string(resource));
                    let message = if message.is_empty() {
                        text(rd::rd_kafka_err2str(code))
                    } else {
                        message
                    };
                    (name, Err(message))
                }
            })
            .collect())
    }
}
