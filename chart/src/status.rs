//! Life cycles of charts and pages, and the roles of users.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stable text form used in the database, the API and the command line.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} {other:?}; expected one of: {}",
                        stringify!($name).to_lowercase(), [$($text),+].join(", "))),
                }
            }
        }
    };
}

string_enum!(
    /// Where a chart is in its life: `ingested` (pages waiting for OCR), `extracted` (fields
    /// extracted, waiting for a reviewer), `in_review` (a reviewer has changed it), then
    /// `approved` or `rejected`.
    ChartStatus {
        /// Pages are queued or being processed.
        Ingested = "ingested",
        /// Fields were extracted; nobody has reviewed them yet.
        Extracted = "extracted",
        /// A reviewer has started correcting it.
        InReview = "in_review",
        /// Approved by a first reviewer; its double-keyed fields wait for a second reviewer
        /// to type them blind.
        SecondKey = "second_key",
        /// The blind second keying disagreed with the first: a senior reviewer decides.
        Disputed = "disputed",
        /// A reviewer approved it.
        Approved = "approved",
        /// A reviewer rejected it.
        Rejected = "rejected",
    }
);

string_enum!(
    /// Where a page is in processing.
    PageStatus {
        /// Waiting for a worker.
        Queued = "queued",
        /// Leased by a worker.
        Processing = "processing",
        /// OCR done.
        Done = "done",
        /// Gave up after too many attempts.
        Failed = "failed",
    }
);

string_enum!(
    /// What a user may do. Each role includes the ones before it where it makes sense:
    /// a manager can review, an admin can do everything.
    Role {
        /// Scans and ingests.
        Clerk = "clerk",
        /// Corrects and approves charts.
        Reviewer = "reviewer",
        /// Sees the dashboard and exports.
        Manager = "manager",
        /// Manages users.
        Admin = "admin",
    }
);

impl Role {
    /// Whether this role may view and correct charts.
    pub fn can_review(&self) -> bool {
        matches!(self, Role::Reviewer | Role::Manager | Role::Admin)
    }

    /// Whether this role may see statistics and export.
    pub fn can_manage(&self) -> bool {
        matches!(self, Role::Manager | Role::Admin)
    }
}

impl ChartStatus {
    /// Whether the chart waits for a reviewer.
    pub fn awaits_review(&self) -> bool {
        matches!(self, ChartStatus::Extracted | ChartStatus::InReview | ChartStatus::Disputed)
    }
}
