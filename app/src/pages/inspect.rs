//! The inspect page: pick or drop a snapshot, see what it is.

use leptos::prelude::*;
use web_sys::File;

use crate::components::drop_zone::DropZone;
use crate::components::file_report::FileReport;
use crate::state::Inspection;
use crate::web::worker_client::{self, WorkerHandle};

#[component]
pub fn InspectPage() -> impl IntoView {
    let state = RwSignal::new(Inspection::default());
    let worker = StoredValue::new_local(None::<WorkerHandle>);
    let open = move |file: File| {
        // Stop the previous file's worker before starting the next one.
        worker.set_value(None);
        match worker_client::inspect(file, state) {
            Ok(handle) => worker.set_value(Some(handle)),
            Err(e) => state.update(|s| {
                s.busy = false;
                s.error = Some(format!(
                    "Could not start the background worker: {e}. Reload the page and try again."
                ));
            }),
        }
    };
    view! {
        <header class="top">
            <h1>"etcd-lens"</h1>
            <p class="tagline">"Look inside an etcd snapshot. The file is read in this tab and never uploaded."</p>
        </header>
        <main>
            <DropZone on_file=open />
            <FileReport state />
        </main>
    }
}
