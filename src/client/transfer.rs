//! `hookscope export` and `hookscope import`: requests out of and into a running hookscope, streamed, so an export
//! of any size is written as it arrives.

use std::io::Write;
use std::process::ExitCode;

use reqwest::Method;

use super::terminal::clean;
use super::{Client, ClientError};
use crate::cli::{ExportArgs, ImportArgs};

pub async fn export(args: ExportArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.client)?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("format", &args.format);
    if let Some(to) = &args.to {
        query.append_pair("to", to);
    }
    let mut query = query.finish();
    if !args.filter.query.is_empty() {
        query = format!("{query}&{}", args.filter.query);
    }
    let mut response = client
        .open(client.request(Method::GET, &format!("/_/api/export?{query}")))
        .await?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path).map_err(
            |error| ClientError::Usage(format!("cannot write {}: {error}", path.display())),
        )?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let written = |error: std::io::Error| ClientError::Usage(format!("cannot write the export: {error}"));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| ClientError::Protocol(error.to_string()))?
    {
        out.write_all(&chunk).map_err(written)?;
    }
    out.flush().map_err(written)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn import(args: ImportArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.client)?;
    let bytes = tokio::fs::read(&args.file)
        .await
        .map_err(|error| ClientError::Usage(format!("cannot read {}: {error}", args.file.display())))?;
    let response = client
        .request(Method::POST, "/_/api/import")
        .header("content-type", "application/x-ndjson")
        .body(bytes)
        .send()
        .await
        .map_err(|error| client.unreachable(&error))?;
    let answer = client.read(response).await?;
    let skipped = answer["skipped"].as_u64().unwrap_or(0);
    for line in answer["skipped_lines"].as_array().into_iter().flatten() {
        eprintln!(
            "hookscope: line {} skipped: {}",
            line["line"],
            clean(line["error"].as_str().unwrap_or_default())
        );
    }
    println!(
        "imported {}, skipped {skipped}",
        answer["imported"].as_u64().unwrap_or(0)
    );
    Ok(if skipped == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
