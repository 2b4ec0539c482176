//! A view with nothing left to wait for: a page's content once its data are in.

use leptos::tachys::{
    html::attribute::{any_attribute::AnyAttribute, Attribute},
    hydration::Cursor,
    ssr::StreamBuilder,
    view::{add_attr::AddAnyAttr, Position, PositionState, Render, RenderHtml},
};

/// Wraps a view that reads no resource: a page's content (its rows above all), once the
/// page's data are in.
///
/// It differs from the view itself in two ways, both of which only save work:
/// - It is built only when it is rendered. A `Suspense` first builds its content in a dry run
///   to find the resources it reads, and then builds it again to render it; built in the dry
///   run, a page's 50 rows would be built twice.
/// - On the server it is written straight into the page, in one pass. Rendered as part of a
///   stream, each element would be written into a string of its own first.
///
/// The HTML is the same either way, and in the browser it is the view itself. A resource read
/// inside it would not be waited for, so nothing inside may read one.
pub struct SyncView<V>(Box<dyn FnOnce() -> V + Send>);

impl<V> SyncView<V> {
    /// The view that `build` makes, when it is rendered.
    pub fn new(build: impl FnOnce() -> V + Send + 'static) -> Self {
        Self(Box::new(build))
    }
}

impl<V: Render> Render for SyncView<V> {
    type State = V::State;

    fn build(self) -> Self::State {
        (self.0)().build()
    }

    fn rebuild(self, state: &mut Self::State) {
        (self.0)().rebuild(state);
    }
}

impl<V: AddAnyAttr + 'static> AddAnyAttr for SyncView<V> {
    type Output<SomeNewAttr: Attribute> = SyncView<V::Output<SomeNewAttr::CloneableOwned>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        let attr = attr.into_cloneable_owned();
        SyncView::new(move || (self.0)().add_any_attr(attr))
    }
}

impl<V: RenderHtml + 'static> RenderHtml for SyncView<V> {
    type AsyncOutput = Self;
    type Owned = Self;

    const MIN_LENGTH: usize = V::MIN_LENGTH;

    fn dry_resolve(&mut self) {}

    async fn resolve(self) -> Self::AsyncOutput {
        self
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        (self.0)().to_html_with_buf(buf, position, escape, mark_branches, extra_attrs);
    }

    fn to_html_async_with_buf<const OUT_OF_ORDER: bool>(
        self,
        buffer: &mut StreamBuilder,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) where
        Self: Sized,
    {
        let view = (self.0)();
        buffer.with_buf(|buf| view.to_html_with_buf(buf, position, escape, mark_branches, extra_attrs));
    }

    fn hydrate<const FROM_SERVER: bool>(self, cursor: &Cursor, position: &PositionState) -> Self::State {
        (self.0)().hydrate::<FROM_SERVER>(cursor, position)
    }

    fn into_owned(self) -> Self::Owned {
        self
    }
}
