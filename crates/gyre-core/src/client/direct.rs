//! Publications written to one client's subscription directly, bypassing the hub and the broker
//! (a subscribe stream proxy feeds its subscription this way).

use gyre_protocol::{EncodeError, Publication, Push};

use super::state::{Buffered, Phase};
use super::{encode_push_for, ClientShared, PayloadForm};
use crate::disconnect::Disconnect;

impl ClientShared {
    /// Encodes `publication` for this client and queues it on its subscription to `channel`:
    /// held behind the subscribe reply while the subscription is pending, sent at once when live.
    pub(crate) fn write_publication(&self, channel: &str, publication: Publication) -> bool {
        let mut state = self.state.lock();
        let Some(ch) = state.channels.get_mut(channel) else {
            return false;
        };
        // A delta subscription's client expects whole payloads in their delta-capable form.
        let form = if ch.delta {
            PayloadForm::Full
        } else {
            PayloadForm::Plain
        };
        let push = Push {
            channel: channel.to_string(),
            r#pub: Some(publication),
            ..Default::default()
        };
        let data = match encode_push_for(self.key.with_form(form), push) {
            Ok(data) => data,
            Err(EncodeError::InvalidJson) => {
                drop(state);
                self.request_close(Disconnect::INAPPROPRIATE_PROTOCOL);
                return false;
            }
        };
        match &mut ch.phase {
            Phase::Failed => false,
            Phase::Pending { buffer, bytes } => {
                *bytes += data.len();
                if self.max_queue > 0 && *bytes > self.max_queue {
                    drop(state);
                    self.request_close(Disconnect::SLOW);
                    return false;
                }
                // Offset 0: outside the stream, so the merge delivers it without a position check.
                buffer.push(Buffered {
                    offset: 0,
                    epoch: String::new(),
                    data: Some(data),
                });
                true
            }
            Phase::Live => {
                // Its payload is whole: the client's next delta base, but at no stream position.
                if ch.delta {
                    ch.delta_base = None;
                }
                drop(state);
                self.push(data, "publication")
            }
        }
    }
}
