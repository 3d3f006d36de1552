//! The stored request, defined once. A request is two rows of a generation (see `generations.rs`): its summary in
//! `requests_N`, small so that list scans stay fast, and its payload in `payloads_N`. Each row type below lists its
//! columns with their SQL declarations; the tables, the insert statements, the select lists and the reading of a
//! row by column name all come from that list. A new stored field is one line in a row plus the code that fills it
//! (and a bump of the schema version, see `schema.rs`).

use bytes::Bytes;
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::endpoints::Reason;
use crate::profiles::BodyKind;
use crate::record::{ForwardState, ResponseRecord, Summary, format_timestamp, header_text};
use crate::signatures::SignatureVerdict;

/// One column: its name and its SQL declaration.
pub(super) struct Column {
    pub name: &'static str,
    pub declaration: &'static str,
}

/// Declares a row type: the struct, its columns in order, its values in the same order, and its reading from a
/// result row by column name.
macro_rules! stored_row {
    (
        $(#[$meta:meta])*
        pub(super) struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $type:ty = $declaration:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub(super) struct $name {
            $( $(#[$field_meta])* pub $field: $type, )*
        }

        impl $name {
            /// The columns, in the order the table declares them.
            pub(super) const COLUMNS: &'static [Column] = &[
                $( Column { name: stringify!($field), declaration: $declaration }, )*
            ];

            /// The values, in the order of [`Self::COLUMNS`], for an insert built by [`insert_sql`].
            pub(super) fn values(&self) -> Vec<&dyn ToSql> {
                vec![ $( &self.$field as &dyn ToSql, )* ]
            }

            /// Reads the row from a result that selected its columns by name (see [`select_list`]).
            pub(super) fn from_row(row: &Row) -> rusqlite::Result<$name> {
                Ok($name { $( $field: row.get(stringify!($field))?, )* })
            }
        }
    };
}

stored_row! {
    /// A request's summary, as `requests_N` holds it.
    pub(super) struct SummaryRow {
        id: i64 = "INTEGER PRIMARY KEY",
        /// Milliseconds since the Unix epoch, UTC.
        received_at: i64 = "INTEGER NOT NULL",
        method: String = "TEXT NOT NULL",
        path: String = "TEXT NOT NULL",
        query: String = "TEXT NOT NULL",
        content_type: Option<String> = "TEXT",
        body_size: i64 = "INTEGER NOT NULL",
        /// A [`BodyKind`]'s name.
        body_kind: String = "TEXT NOT NULL",
        /// The name of the profile the body was checked against; NULL for none.
        envelope: Option<String> = "TEXT",
        valid: Option<bool> = "INTEGER",
        event: Option<String> = "TEXT",
        error_count: i64 = "INTEGER NOT NULL",
        warning_count: i64 = "INTEGER NOT NULL",
        /// Raw bytes, so header keys differing only in non-UTF-8 bytes stay different.
        idempotency_key: Option<Vec<u8>> = "BLOB",
        duplicate_of: Option<i64> = "INTEGER",
        remote_addr: String = "TEXT NOT NULL",
        /// The endpoint's name; NULL for none.
        endpoint: Option<String> = "TEXT",
        /// What the request was answered: the status, the delay, the endpoint's step and the reason's name.
        response_status: i64 = "INTEGER NOT NULL DEFAULT 200",
        response_delay_ms: i64 = "INTEGER NOT NULL DEFAULT 0",
        response_step: Option<i64> = "INTEGER",
        response_reason: String = "TEXT NOT NULL DEFAULT 'default'",
        /// A signature [`SignatureVerdict`]'s name.
        signature: String = "TEXT NOT NULL DEFAULT 'unsigned'",
        /// A [`ForwardState`]'s name; changed as deliveries land.
        forward: String = "TEXT NOT NULL DEFAULT 'none'",
        /// The environment the request names, by its profile.
        environment: Option<String> = "TEXT",
    }
}

stored_row! {
    /// A request's payload, as `payloads_N` holds it.
    pub(super) struct PayloadRow {
        id: i64 = "INTEGER PRIMARY KEY",
        /// Every header as received, in `headers_codec`'s format.
        headers: Vec<u8> = "BLOB NOT NULL",
        /// `{"errors": [...], "warnings": [...]}`, or NULL when there are none.
        findings: Option<String> = "TEXT",
        /// The signature check's scheme, reason and masked secret as JSON; NULL when unsigned.
        signature_check: Option<String> = "TEXT",
        /// Where the idempotency key came from (`header X-GitHub-Delivery`).
        key_source: Option<String> = "TEXT",
        body: Blob = "BLOB NOT NULL",
    }
}

/// Bytes shared rather than copied on their way to the database: a captured body is handed to the writer once
/// and may be megabytes long.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Blob(pub Bytes);

impl ToSql for Blob {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(&self.0)))
    }
}

impl FromSql for Blob {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Vec::<u8>::column_result(value).map(|bytes| Blob(Bytes::from(bytes)))
    }
}

impl SummaryRow {
    /// A row of an empty `POST /` answered by default, for tests to adjust.
    #[cfg(test)]
    pub(super) fn example(id: i64) -> SummaryRow {
        SummaryRow {
            id,
            received_at: 0,
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            content_type: None,
            body_size: 0,
            body_kind: "empty".into(),
            envelope: None,
            valid: None,
            event: None,
            error_count: 0,
            warning_count: 0,
            idempotency_key: None,
            duplicate_of: None,
            remote_addr: String::new(),
            endpoint: None,
            response_status: 200,
            response_delay_ms: 0,
            response_step: None,
            response_reason: "default".into(),
            signature: "unsigned".into(),
            forward: "none".into(),
            environment: None,
        }
    }

    /// The summary the API and the live stream show.
    pub(super) fn into_summary(self) -> Summary {
        Summary {
            id: self.id,
            received_at: format_timestamp(self.received_at),
            method: self.method,
            path: self.path,
            query: self.query,
            content_type: self.content_type,
            body_size: self.body_size,
            body_kind: BodyKind::from_name(&self.body_kind),
            envelope: self.envelope,
            valid: self.valid,
            event: self.event,
            error_count: self.error_count,
            warning_count: self.warning_count,
            idempotency_key: self.idempotency_key.as_deref().map(header_text),
            duplicate_of: self.duplicate_of,
            endpoint: self.endpoint,
            response: ResponseRecord {
                status: u16::try_from(self.response_status).unwrap_or(0),
                delay_ms: u64::try_from(self.response_delay_ms).unwrap_or(0),
                step: self.response_step.and_then(|step| usize::try_from(step).ok()),
                reason: Reason::from_name(&self.response_reason),
            },
            signature: SignatureVerdict::from_name(&self.signature),
            forward: ForwardState::from_name(&self.forward),
            environment: self.environment,
        }
    }
}

/// The body of a `CREATE TABLE` for `columns`.
pub(super) fn table_columns(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|column| format!("{} {}", column.name, column.declaration))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An insert of every column of `columns` into `table`, its values bound in order.
pub(super) fn insert_sql(table: &str, columns: &[Column]) -> String {
    let names: Vec<&str> = columns.iter().map(|column| column.name).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        placeholders.join(", ")
    )
}

/// The columns' names qualified by `alias` (`r.id, r.method, ...`), for a select that a row type reads back.
pub(super) fn select_list(alias: &str, columns: &[Column]) -> String {
    columns
        .iter()
        .map(|column| format!("{alias}.{}", column.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The columns' names, in order.
pub(super) fn names(columns: &[Column]) -> impl Iterator<Item = &'static str> + '_ {
    columns.iter().map(|column| column.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_what_its_insert_wrote() {
        let conn = rusqlite::Connection::open_in_memory().expect("open");
        conn.execute_batch(&format!("CREATE TABLE t ({})", table_columns(SummaryRow::COLUMNS)))
            .expect("create");
        let row = SummaryRow {
            id: 7,
            received_at: 1_795_342_530_123,
            method: "POST".into(),
            path: "/hooks/a".into(),
            query: "x=1".into(),
            content_type: Some("application/json".into()),
            body_size: 12,
            body_kind: "json".into(),
            envelope: Some("channel_event".into()),
            valid: Some(false),
            event: Some("invoices.created".into()),
            error_count: 1,
            warning_count: 2,
            idempotency_key: Some(b"k\xff".to_vec()),
            duplicate_of: Some(3),
            remote_addr: "127.0.0.1:5000".into(),
            endpoint: Some("flaky".into()),
            response_status: 500,
            response_delay_ms: 1500,
            response_step: Some(0),
            response_reason: "step".into(),
            signature: "invalid".into(),
            forward: "pending".into(),
            environment: Some("staging".into()),
        };
        conn.execute(
            &insert_sql("t", SummaryRow::COLUMNS),
            rusqlite::params_from_iter(row.values()),
        )
        .expect("insert");
        let read = conn
            .query_row(
                &format!("SELECT {} FROM t r", select_list("r", SummaryRow::COLUMNS)),
                [],
                SummaryRow::from_row,
            )
            .expect("read");
        assert_eq!(read, row);
    }
}
