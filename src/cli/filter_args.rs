//! The one filter type's parameters as command-line flags, made from [`Filter::PARAMETERS`] so that the clients'
//! flags cannot drift from what the list API and the live stream take: `--event`, `--path`, ..., with `valid` as
//! `--valid`/`--invalid` and `duplicate` as `--duplicate`. The flags become the filter's query string, checked by the
//! filter itself (a bad value is clap's error: one sentence, exit status 2).

use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};

use crate::filter::Filter;

/// The filter flags given, as a query string the server takes (`valid=false&event=user.new`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterArgs {
    pub query: String,
}

/// What each filter flag means, for `--help`.
fn help(parameter: &str) -> &'static str {
    match parameter {
        "method" => "Only requests with this method",
        "path" => "Only requests whose path starts with this",
        "envelope" => "Only requests checked against this profile (a built-in or custom name, or none)",
        "event" => "Only requests with this event name",
        "q" => "Only requests whose path, query or body contains this text",
        "header" => "Only requests carrying this header: NAME:VALUE, or NAME for any value",
        "endpoint" => "Only requests under this endpoint",
        "status" => "Only requests answered this status (500) or class (5xx)",
        "key" => "Only requests with this idempotency key",
        "signature" => "Only requests whose signature is valid, invalid, unchecked or unsigned",
        "forward" => "Only requests whose forwarding is none, pending, ok or failed",
        "environment" => "Only requests whose profile names this environment",
        "since" => "Only requests received at or after this RFC 3339 time",
        "until" => "Only requests received before this RFC 3339 time",
        _ => "A filter of the list API",
    }
}

impl clap::Args for FilterArgs {
    fn augment_args(command: Command) -> Command {
        Filter::PARAMETERS
            .iter()
            .fold(command, |command, parameter| match *parameter {
                "valid" => command
                    .arg(
                        Arg::new("valid")
                            .long("valid")
                            .action(ArgAction::SetTrue)
                            .conflicts_with("invalid")
                            .help("Only requests valid against their profile"),
                    )
                    .arg(
                        Arg::new("invalid")
                            .long("invalid")
                            .action(ArgAction::SetTrue)
                            .help("Only requests invalid against their profile"),
                    ),
                "duplicate" => command.arg(
                    Arg::new("duplicate")
                        .long("duplicate")
                        .action(ArgAction::SetTrue)
                        .help("Only duplicates (a repeated idempotency key)"),
                ),
                parameter => command.arg(
                    Arg::new(parameter)
                        .long(parameter)
                        .value_name("VALUE")
                        .help(help(parameter)),
                ),
            })
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for FilterArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for parameter in Filter::PARAMETERS {
            match parameter {
                "valid" => {
                    if matches.get_flag("valid") {
                        query.append_pair("valid", "true");
                    }
                    if matches.get_flag("invalid") {
                        query.append_pair("valid", "false");
                    }
                }
                "duplicate" => {
                    if matches.get_flag("duplicate") {
                        query.append_pair("duplicate", "true");
                    }
                }
                parameter => {
                    if let Some(value) = matches.get_one::<String>(parameter) {
                        query.append_pair(parameter, value);
                    }
                }
            }
        }
        let query = query.finish();
        Filter::from_query(&query)
            .map_err(|error| clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{error}\n")))?;
        Ok(FilterArgs { query })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        filter: FilterArgs,
    }

    #[test]
    fn every_filter_parameter_is_a_flag_and_becomes_the_query() {
        let probe = Probe::try_parse_from([
            "x",
            "--event",
            "user.new",
            "--invalid",
            "--duplicate",
            "--status",
            "5xx",
        ])
        .expect("parses");
        assert_eq!(
            probe.filter.query,
            "valid=false&duplicate=true&event=user.new&status=5xx"
        );
        let command = <Probe as clap::CommandFactory>::command();
        for parameter in Filter::PARAMETERS {
            assert!(
                command.get_arguments().any(|arg| arg.get_id() == parameter),
                "--{parameter}"
            );
        }
        assert!(Probe::try_parse_from(["x", "--status", "6xx"]).is_err());
        assert!(Probe::try_parse_from(["x", "--valid", "--invalid"]).is_err());
    }
}
