//! Which code is compiled for unit tests only.

use syn::punctuated::Punctuated;
use syn::{Attribute, ImplItem, Item, Meta, Token, TraitItem};

/// `#[cfg(test)]`, or `#[cfg(all(.., test, ..))]`: compiled for unit tests only.
fn is_cfg_test(attrs: &[Attribute]) -> bool {
    fn means_test(meta: &Meta) -> bool {
        match meta {
            Meta::Path(p) => p.is_ident("test"),
            Meta::List(list) if list.path.is_ident("all") => list
                .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .is_ok_and(|all| all.iter().any(means_test)),
            _ => false,
        }
    }
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.parse_args::<Meta>().is_ok_and(|m| means_test(&m)))
}

/// Something that may carry `#[cfg(test)]`.
pub(crate) trait Attrs {
    /// Its outer attributes.
    fn attrs(&self) -> &[Attribute];

    /// Whether it is compiled for unit tests only.
    fn is_test(&self) -> bool {
        is_cfg_test(self.attrs())
    }
}

impl Attrs for Item {
    fn attrs(&self) -> &[Attribute] {
        match self {
            Item::Const(i) => &i.attrs,
            Item::Enum(i) => &i.attrs,
            Item::ExternCrate(i) => &i.attrs,
            Item::Fn(i) => &i.attrs,
            Item::ForeignMod(i) => &i.attrs,
            Item::Impl(i) => &i.attrs,
            Item::Macro(i) => &i.attrs,
            Item::Mod(i) => &i.attrs,
            Item::Static(i) => &i.attrs,
            Item::Struct(i) => &i.attrs,
            Item::Trait(i) => &i.attrs,
            Item::TraitAlias(i) => &i.attrs,
            Item::Type(i) => &i.attrs,
            Item::Union(i) => &i.attrs,
            Item::Use(i) => &i.attrs,
            _ => &[],
        }
    }
}

impl Attrs for ImplItem {
    fn attrs(&self) -> &[Attribute] {
        match self {
            ImplItem::Const(i) => &i.attrs,
            ImplItem::Fn(i) => &i.attrs,
            ImplItem::Type(i) => &i.attrs,
            ImplItem::Macro(i) => &i.attrs,
            _ => &[],
        }
    }
}

impl Attrs for TraitItem {
    fn attrs(&self) -> &[Attribute] {
        match self {
            TraitItem::Const(i) => &i.attrs,
            TraitItem::Fn(i) => &i.attrs,
            TraitItem::Type(i) => &i.attrs,
            TraitItem::Macro(i) => &i.attrs,
            _ => &[],
        }
    }
}
