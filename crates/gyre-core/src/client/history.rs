//! The `history` command.

use super::session::Session;
use crate::broker::StreamPosition;
use crate::disconnect::Disconnect;
use crate::handler::{HandlerError, HistoryEvent};
use crate::node::inner::broker_error;
use crate::options::HistoryOptions;
use gyre_protocol::{HistoryRequest, HistoryResult, Publication, Reply};

/// Clamps a client's limit: 0 stays "only the position"; negative (no limit) or more than the
/// maximum becomes the maximum (0 = no maximum).
pub(super) fn clamp_limit(limit: i32, max: usize) -> i32 {
    let max = i32::try_from(max).unwrap_or(i32::MAX);
    if max > 0 && (limit < 0 || limit > max) {
        max
    } else {
        limit
    }
}

/// A stored publication as clients see it: broker-internal fields removed.
pub(super) fn client_publication(mut p: Publication) -> Publication {
    p.time = 0;
    p.prev_data = Default::default();
    p
}

impl Session {
    pub(super) async fn handle_history(&mut self, id: u32, req: HistoryRequest) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let event = HistoryEvent {
            channel: req.channel.clone(),
            limit: clamp_limit(req.limit, self.node.config.history_max_publication_limit),
            since: req.since.map(|s| StreamPosition {
                offset: s.offset,
                epoch: s.epoch,
            }),
            reverse: req.reverse,
        };
        let client = self.client.client_ref();
        self.node.handler.on_history(&client, &event).await?;
        let opts = HistoryOptions {
            limit: event.limit,
            since: event.since,
            reverse: event.reverse,
            meta_ttl: None,
        };
        let history = self
            .node
            .broker
            .history(&event.channel, opts)
            .await
            .map_err(broker_error)?;
        let reply = Reply {
            history: Some(HistoryResult {
                publications: history.publications.into_iter().map(client_publication).collect(),
                epoch: history.position.epoch,
                offset: history.position.offset,
            }),
            ..Default::default()
        };
        self.write_reply(id, reply, "history");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::clamp_limit;

    #[test]
    fn limits() {
        assert_eq!(clamp_limit(0, 300), 0);
        assert_eq!(clamp_limit(-1, 300), 300);
        assert_eq!(clamp_limit(1000, 300), 300);
        assert_eq!(clamp_limit(10, 300), 10);
        assert_eq!(clamp_limit(-1, 0), -1);
    }
}
