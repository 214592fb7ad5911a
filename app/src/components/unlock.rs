//! Ask for the secret of an age-encrypted snapshot. The secret stays in this
//! tab: it goes to the worker, which decrypts the file where it lies.

use leptos::prelude::*;

use crate::protocol::{SecretPrompt, UnlockSecret};

/// The form, shown while `prompt` is set (the open file's, or the one to compare with).
#[component]
pub fn Unlock<F>(
    #[prop(into)] prompt: Signal<Option<SecretPrompt>>,
    #[prop(into)] error: Signal<Option<String>>,
    on_secret: F,
) -> impl IntoView
where
    F: Fn(UnlockSecret) + Copy + Send + Sync + 'static,
{
    let passphrase = RwSignal::new(String::new());
    let identity = RwSignal::new(String::new());
    let ssh_pass = RwSignal::new(String::new());
    // The identity file chosen (its name), or why it could not be read.
    let identity_file = RwSignal::new(None::<Result<String, String>>);
    let choose_identity = move |ev: leptos::ev::Event| {
        let Some(file) = event_target::<web_sys::HtmlInputElement>(&ev)
            .files()
            .and_then(|f| f.get(0))
        else {
            return;
        };
        let name = file.name();
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(text) => {
                    identity.set(text.as_string().unwrap_or_default());
                    identity_file.set(Some(Ok(name)));
                }
                Err(_) => identity_file.set(Some(Err(format!("could not read {name}")))),
            }
        });
    };
    move || {
        prompt.get().map(|p| {
            let submit = move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                let secret = if p.passphrase {
                    UnlockSecret::Passphrase { passphrase: passphrase.get_untracked() }
                } else {
                    let k = ssh_pass.get_untracked();
                    UnlockSecret::Identity { identity: identity.get_untracked(), ssh_key_passphrase: (!k.is_empty()).then_some(k) }
                };
                on_secret(secret);
            };
            let fields = if p.passphrase {
                view! {
                    <label>"Passphrase "
                        <input type="password" autocomplete="off" data-testid="age-passphrase"
                            prop:value=move || passphrase.get() on:input=move |ev| passphrase.set(event_target_value(&ev)) />
                    </label>
                }
                .into_any()
            } else {
                view! {
                    <label>"Identity: paste an " <code>"AGE-SECRET-KEY-1…"</code> " key or an SSH private key (hidden once entered)"
                        <textarea rows="5" cols="70" spellcheck="false" autocomplete="off" data-testid="age-identity"
                            class:entered=move || !identity.get().is_empty()
                            prop:value=move || identity.get() on:input=move |ev| identity.set(event_target_value(&ev))></textarea>
                    </label>
                    <label>"or choose the identity file "
                        <input type="file" data-testid="age-identity-file" on:change=choose_identity />
                    </label>
                    {move || identity_file.get().map(|r| match r {
                        Ok(name) => view! { <p class="hint" data-testid="age-identity-loaded">{format!("Identity read from {name} ({}, hidden).", crate::state::count(identity.with(|i| i.len()) as u64, "character", "characters"))}</p> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    })}
                    <label>"SSH key passphrase (if the key has one) "
                        <input type="password" autocomplete="off" data-testid="age-ssh-passphrase"
                            prop:value=move || ssh_pass.get() on:input=move |ev| ssh_pass.set(event_target_value(&ev)) />
                    </label>
                }
                .into_any()
            };
            let needs = if p.passphrase {
                "This snapshot is encrypted with age and a passphrase.".to_string()
            } else {
                format!("This snapshot is encrypted with age for: {}.", p.recipient_types.join(", "))
            };
            view! {
                <form class="unlock" data-testid="unlock" on:submit=submit>
                    <p>{needs} " It is decrypted here, in this tab; the secret is not sent anywhere."</p>
                    {fields}
                    <button type="submit" data-testid="age-unlock">"Decrypt"</button>
                    {move || error.get().map(|e| view! { <p class="error" role="alert" data-testid="unlock-error">{e}</p> })}
                </form>
            }
        })
    }
}
