//! `batch`: many commands in one call, sequential by default or concurrent (bounded).

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Executor;
use crate::error::ApiError;
use crate::methods::{Command, CommandResult, WireCommand};
use crate::raw::{nullable, object};

/// One element of `commands`.
#[derive(Debug, Clone)]
pub enum BatchItem {
    Command(Box<Command>),
    /// A JSON `null` element: 107.
    Null,
    /// No method this server implements (including map, shared-poll and PRO methods): 104.
    Unknown,
}

impl<'de> Deserialize<'de> for BatchItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match object::<D, WireCommand>(d)? {
            None => BatchItem::Null,
            Some(wire) => wire
                .into_command()
                .map_or(BatchItem::Unknown, |c| BatchItem::Command(Box::new(c))),
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BatchRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub commands: Vec<BatchItem>,
    /// Run the commands concurrently (at most 1024 at once).
    #[serde(default, deserialize_with = "nullable")]
    pub parallel: bool,
}

/// One reply: `{"<method>":{…}}` or `{"error":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply(pub Result<CommandResult, ApiError>);

impl Serialize for Reply {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match &self.0 {
            Ok(result) => map.serialize_entry(result.method(), result)?,
            Err(error) => map.serialize_entry("error", error)?,
        }
        map.end()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<Reply>,
}

impl Executor {
    /// Runs every command and answers in order. Errors stay per command; a batch itself never
    /// fails.
    pub async fn batch(&self, req: BatchRequest) -> BatchResult {
        let replies = if req.parallel {
            let mut futures = Vec::with_capacity(req.commands.len());
            for item in req.commands {
                futures.push(self.batch_item(item));
            }
            super::run_bounded(futures).await
        } else {
            let mut replies = Vec::with_capacity(req.commands.len());
            for item in req.commands {
                replies.push(self.batch_item(item).await);
            }
            replies
        };
        BatchResult { replies }
    }

    async fn batch_item(&self, item: BatchItem) -> Reply {
        match item {
            BatchItem::Null => Reply(Err(ApiError::BAD_REQUEST)),
            BatchItem::Unknown => {
                self.count_error("unknown", &ApiError::NOT_FOUND);
                Reply(Err(ApiError::NOT_FOUND))
            }
            BatchItem::Command(command) => {
                let method = command.method();
                let result = self.execute(*command).await;
                if let Err(e) = &result {
                    self.count_error(method, e);
                }
                Reply(result)
            }
        }
    }
}
