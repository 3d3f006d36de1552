//! The channels of the `channel_event` envelope and the events each one allows, as published in the
//! accounting provider's webhook documentation (seed 004).

/// Every channel with the events it may send, in the order the provider's table lists them.
pub const CHANNELS: &[(&str, &[&str])] = &[
    ("business", &["updated"]),
    ("invoices", CRUD),
    ("invoice_payments", CRUD),
    ("invoice_online_payments", CREATED),
    ("sales", CRUD),
    ("deposits", CRUD),
    ("quotes", CRUD),
    ("other_incomes", CRUD),
    ("clients", CRUD),
    ("expenses", CRUD),
    ("bills", CRUD),
    ("bill_payments", CRUD),
    ("bill_online_payments", CREATED),
    ("income_tax_payments", CREATED_DELETED),
    ("withholding_tax_payments", CREATED_DELETED),
    ("sales_tax_payments", CREATED_DELETED),
    ("suppliers", CRUD),
    ("employees", CRUD),
    ("pay_runs", CRUD),
    ("salary_payments", CREATED_DELETED),
    ("payrun_tier1_payments", CREATED_DELETED),
    ("payrun_tier2_payments", CREATED_DELETED),
    ("payrun_tier3_payments", CREATED_DELETED),
    ("payrun_income_tax_payments", CREATED_DELETED),
    ("products_services", CRUD),
    ("wallet_transactions", CREATED),
    ("bank_transfers", CRUD),
    ("accounts", CRUD),
    ("journals", CRUD),
    ("business_loans", CRUD),
    ("ledgers", CRUD),
];

const CRUD: &[&str] = &["created", "updated", "deleted"];
const CREATED: &[&str] = &["created"];
const CREATED_DELETED: &[&str] = &["created", "deleted"];

/// The events `channel` allows, or `None` when the provider has no such channel.
pub fn allowed_events(channel: &str) -> Option<&'static [&'static str]> {
    CHANNELS
        .iter()
        .find(|(name, _)| *name == channel)
        .map(|(_, events)| *events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_every_channel_of_the_seed_once() {
        assert_eq!(CHANNELS.len(), 31);
        let mut names: Vec<_> = CHANNELS.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 31);
    }

    #[test]
    fn lookups_follow_the_table() {
        assert_eq!(allowed_events("business"), Some(&["updated"][..]));
        assert_eq!(allowed_events("wallet_transactions"), Some(&["created"][..]));
        assert_eq!(allowed_events("sales_tax_payments"), Some(&["created", "deleted"][..]));
        assert_eq!(allowed_events("nope"), None);
    }
}
