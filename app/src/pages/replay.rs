//! A site's replays (docs/replay.md): the form (window and settings, pre-filled with the last
//! day and the settings in force), the progress while a replay runs, then its agreement with
//! the record, its summary, its charts and both timelines side by side. The form is a plain
//! post and the progress reloads itself without JavaScript; once hydrated, the page follows
//! the progress itself.

use std::collections::HashSet;

use leptos::{either::Either, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::{
    components::{FormError, LoadError, PageError, Time},
    server_fns::replays::{get_replay_page, StartReplay},
};

use domain::{
    decisions::Outcome,
    replay::{ReplayChart, ReplayPage as ReplayPageView, ReplayResult, ReplayRun, ReplayShown, ReplayStatus, Summary},
    time::duration_words,
};

/// How often a hydrated page asks how far a running replay got.
const PROGRESS_EVERY_MS: u64 = 1000;

#[component]
pub fn ReplayPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let site_id = move || params.with(|p| p.get("id").unwrap_or_default());
    let run = move || query.with(|q| q.get("run").unwrap_or_default());
    let start = ServerAction::<StartReplay>::new();
    let tick = RwSignal::new(0u64);
    let page = Resource::new(move || (site_id(), run(), tick.get()), |(site, run, _)| get_replay_page(site, run));
    // Effects run only in the browser: the server renders the page as it stands.
    Effect::new(move |_| {
        let running = move || {
            page.with_untracked(
                |p| matches!(p, Some(Ok(p)) if p.run.as_ref().is_some_and(|r| r.run.status == ReplayStatus::Running)),
            )
        };
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if running() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_millis(PROGRESS_EVERY_MS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let error = PageError::new().watch(start.value()).signal();
    view! {
        <Title text="Replay · Palomar"/>
        <FormError error/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Err(error) => Either::Left(view! { <LoadError error/> }),
                    Ok(page) => Either::Right(replay_view(page, start)),
                }
            })}
        </Transition>
    }
}

fn replay_view(page: ReplayPageView, start: ServerAction<StartReplay>) -> impl IntoView {
    let ReplayPageView { site_id, site, from, to, settings, can_start, run } = page;
    view! {
        <div class="page-head"><h1>"Replay: "{site}</h1></div>
        <p class="muted">
            "Replays a window of this site's history through the controller's planners, pass by pass over the recorded "
            "metrics, on a copy of the site: with the settings in force it should make the decisions the controller "
            "recorded; with other settings it shows what they would have done. Nothing is written to the cluster."
        </p>
        {run.map(shown_view)}
        {can_start.then(|| form_view(site_id, from, to, settings, start))}
    }
}

fn form_view(
    site_id: Uuid,
    from: String,
    to: String,
    settings: String,
    start: ServerAction<StartReplay>,
) -> impl IntoView {
    let rows = settings.lines().count().max(4) + 1;
    view! {
        <h2>"Replay a window"</h2>
        <ActionForm action=start attr:class="form" attr:id="start-replay">
            <input type="hidden" name="site_id" value=site_id.to_string()/>
            <label>"From (UTC)"<input name="from" value=from maxlength="40" autocomplete="off"/></label>
            <label>"To (UTC)"<input name="to" value=to maxlength="40" autocomplete="off"/></label>
            <label>"Settings"
                <textarea name="settings" rows=rows.to_string() cols="60" maxlength="10240" spellcheck="false">{settings}</textarea>
                <small>
                    "One NAME=VALUE a line, pre-filled with the values in force: a feature's state by its name "
                    "(on, dryrun, off), a controller setting by its variable. Change any; lines left as they are "
                    "change nothing. Times are at most 24 hours apart, within the metrics kept."
                </small>
            </label>
            <button type="submit">"Replay"</button>
        </ActionForm>
    }
}

fn shown_view(shown: ReplayShown) -> impl IntoView {
    let ReplayShown { run, charts } = shown;
    let status = run.status;
    let body = match (status, run.result.clone()) {
        (ReplayStatus::Running, _) => Either::Left(Either::Left(progress_view(&run))),
        (ReplayStatus::Done, Some(result)) => Either::Right(result_view(result, charts)),
        _ => Either::Left(Either::Right(view! {
            <p class="load-error" role="alert" id="replay-error">
                {format!("The replay failed: {}", run.error.clone().unwrap_or_default())}
            </p>
        })),
    };
    let set = if run.overrides.is_empty() {
        "the settings in force".to_string()
    } else {
        run.overrides.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    };
    view! {
        <section class="replay" id="replay" data-status=status.as_str() data-id=run.id.to_string()>
            <h2>{if run.is_what_if() { "What if" } else { "Fidelity check" }}</h2>
            <p class="small">
                <Time at=run.from/>" to "<Time at=run.to/>" with "<span id="replay-set">{set}</span>
                " · asked by "{run.requested_by.clone()}" "<Time at=run.created_at/>
            </p>
            {body}
        </section>
    }
}

fn progress_view(run: &ReplayRun) -> impl IntoView {
    view! {
        // Without JavaScript the page reloads itself until the replay ends.
        <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript>
        <progress id="replay-progress" max=run.total.max(1).to_string() value=run.done.to_string() aria-label="Replay progress"></progress>
        <p class="small">{format!("{} of {} passes replayed ({:.0} %)", run.done, run.total, run.percent())}</p>
    }
}

fn result_view(result: ReplayResult, charts: Vec<ReplayChart>) -> impl IntoView {
    let agreement = &result.agreement;
    let figure = format!(
        "{:.1} % of the acting decisions agree ({} paired, {} on one side only)",
        agreement.percent(),
        agreement.matched,
        agreement.disagreements.len()
    );
    let disagreements = agreement.disagreements.clone();
    let notes: Vec<String> = result
        .start
        .offline_since_unknown
        .iter()
        .map(|h| {
            format!("{h} came online in the window with no recorded offline decision: taken as offline from its start")
        })
        .chain(
            result
                .start
                .moving_unrecorded
                .iter()
                .map(|g| format!("group {g} is moving with no recorded move: taken as not moving")),
        )
        .chain(result.skipped_moves.iter().map(|m| format!("a move others started could not start in the replay: {m}")))
        .collect();
    view! {
        <p id="replay-agreement" class="agreement"><strong>{figure}</strong></p>
        <p class="muted small">
            "How far to trust a what-if: a replay with the settings in force that agrees in full reproduces the record; "
            "each disagreement below says why the two differ, such as a metric sample missing from the history."
        </p>
        {summary_table(&result.summary.recorded, &result.summary.replayed)}
        <div class="charts" id="replay-charts">{charts.into_iter().map(chart).collect_view()}</div>
        {timelines(&result)}
        {(!disagreements.is_empty()).then(|| view! {
            <h3>"Decisions on one side only"</h3>
            <table class="list" id="replay-disagreements">
                <thead><tr><th>"At"</th><th>"Only"</th><th>"Feature"</th><th>"Decision"</th><th>"Why"</th></tr></thead>
                <tbody>
                    {disagreements.into_iter().map(|d| view! {
                        <tr data-side=d.side.as_str()>
                            <td><Time at=d.at/></td><td>{d.side.as_str()}</td><td>{d.feature.as_str()}</td>
                            <td>{d.summary}</td><td>{d.reason}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {(!notes.is_empty()).then(|| view! {
            <h3>"Notes"</h3>
            <ul class="small" id="replay-notes">{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
        })}
    }
}

fn summary_table(recorded: &Summary, replayed: &Summary) -> impl IntoView {
    let rows: [(&str, String, String); 6] = [
        ("Moves", recorded.moves.to_string(), replayed.moves.to_string()),
        ("Forced moves", recorded.forced.to_string(), replayed.forced.to_string()),
        ("Users moved", recorded.users_moved.to_string(), replayed.users_moved.to_string()),
        ("Backends set offline", recorded.set_offline.to_string(), replayed.set_offline.to_string()),
        ("Time backends spent offline", duration_words(recorded.offline_secs), duration_words(replayed.offline_secs)),
        ("Peak Z-score spread", format!("{:.2}", recorded.peak_spread), format!("{:.2}", replayed.peak_spread)),
    ];
    view! {
        <table class="list" id="replay-summary">
            <thead><tr><th></th><th>"Recorded"</th><th>"Replayed"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|(what, a, b)| view! {
                    <tr><th scope="row">{what}</th><td class="number">{a}</td><td class="number">{b}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

fn chart(c: ReplayChart) -> impl IntoView {
    let body = if c.svg.is_empty() {
        Either::Left(view! { <p class="muted no-data">"No pass to draw."</p> })
    } else {
        Either::Right(view! { <div class="chart-svg" inner_html=c.svg.clone()></div> })
    };
    view! {
        <figure class="chart" id=format!("replay-chart-{}", c.id)>
            <figcaption>{c.title.clone()}</figcaption>
            {body}
        </figure>
    }
}

/// The record's and the replay's acting decisions side by side; a decision the other side did
/// not make is marked.
fn timelines(result: &ReplayResult) -> impl IntoView {
    let paired: HashSet<Uuid> = result.decisions.iter().filter_map(|d| d.recorded).collect();
    let recorded = result
        .recorded
        .iter()
        .map(|e| entry(e.at, e.feature.as_str(), e.summary.clone(), e.outcome, paired.contains(&e.id)))
        .collect_view();
    let replayed = result
        .decisions
        .iter()
        .map(|d| entry(d.at, d.decision.feature.as_str(), d.decision.summary.clone(), d.outcome, d.recorded.is_some()))
        .collect_view();
    view! {
        <div class="timelines">
            <section id="timeline-recorded">
                <h3>"Recorded"</h3>
                <ol class="timeline">{recorded}</ol>
            </section>
            <section id="timeline-replayed">
                <h3>"Replayed"</h3>
                <ol class="timeline">{replayed}</ol>
            </section>
        </div>
    }
}

fn entry(
    at: chrono::DateTime<chrono::Utc>,
    feature: &'static str,
    summary: String,
    outcome: Outcome,
    paired: bool,
) -> impl IntoView {
    view! {
        <li data-feature=feature data-paired=paired.to_string() class:alone=!paired>
            <Time at=at/>" "<span class="badge">{feature}</span>" "{summary}
            {(outcome != Outcome::Applied).then(|| view! { " ("{outcome.as_str()}")" })}
            {(!paired).then(|| view! { " "<strong class="only">"only here"</strong> })}
        </li>
    }
}
