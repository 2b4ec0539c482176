//! The decision log keeps one line per feature and subject: a dry or idle decision that repeats
//! the last one recorded about the same backend is held back for ten minutes, and one about
//! another backend is never taken for a repeat, however alike their summaries read.

use super::*;

async fn drain_all(world: &World) {
    for i in 1..=3 {
        let mut b = world.backend(i).await;
        b.load_factor = 0;
        world.store.put_backend(&b).await.unwrap();
    }
}

/// The drain's decisions, idle ones too (`of_feature` keeps only actions), without the
/// repairs of groups' alternatives the same feature makes.
fn of_feature_all(decisions: &[DecisionRecord], feature: &str) -> Vec<DecisionRecord> {
    decisions
        .iter()
        .filter(|d| {
            d.decision.feature.as_str() == feature && matches!(d.decision.inputs, DecisionInputs::Evacuation(_))
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn backends_in_the_same_situation_each_get_their_line_and_repeats_are_held_back() {
    let world = World::new(600).await;
    world.set_feature("evacuation", FeatureState::Dryrun).await;
    // Every backend drains, so none can take a group: three idle decisions that differ only
    // in the backend they are about.
    drain_all(&world).await;
    let c = world.leading("a").await;
    c.run(LoopKind::Pass).await;
    let decisions = world.decisions().await;
    let first = of_feature_all(&decisions, "evacuation");
    let subjects: std::collections::BTreeSet<_> = first
        .iter()
        .map(|d| {
            let DecisionInputs::Evacuation(inputs) = &d.decision.inputs else { panic!("{d:?}") };
            inputs.backend
        })
        .collect();
    assert_eq!((first.len(), subjects.len()), (3, 3), "one line per backend: {first:?}");
    assert!(first.iter().all(|d| d.decision.reason == Reason::NoDestination), "{first:?}");

    world.ticks(60).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(
        of_feature_all(&world.decisions().await, "evacuation").len(),
        3,
        "the same situation is not logged again"
    );

    // be3 can take groups again: the other two now decide something new and are logged; be3
    // has nothing to decide.
    let mut be3 = world.backend(3).await;
    be3.load_factor = 100;
    world.store.put_backend(&be3).await.unwrap();
    world.ticks(60).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    let decisions = world.decisions().await;
    let now = of_feature_all(&decisions, "evacuation");
    let drains: Vec<_> = now.iter().filter(|d| d.decision.reason == Reason::Draining).collect();
    assert_eq!(drains.len(), 2, "{now:?}");
    assert_eq!(now.len(), 5);

    // Ten minutes on, an unchanged situation is logged once more.
    world.ticks(600).await;
    lead(&c).await;
    c.run(LoopKind::Pass).await;
    assert_eq!(of_feature_all(&world.decisions().await, "evacuation").len(), 7);
}
