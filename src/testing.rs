//! What the integration tests (`tests/it`) and the benchmarks (`benches/`) drive, re-exported one
//! item at a time under the paths they have inside the crate. Everything else is crate-private, so
//! rustc reports what nothing uses; an item added here is a deliberate promise to those callers.
//! Not an API for anyone else.

pub mod clock {
    pub use crate::clock::{Now, rome};
}

pub mod domain {
    pub use crate::domain::{
        Cents, Day, DebtState, GeneratorId, Iuv, NoticeNumber, OrgFiscalCode, Party, SegregationCode, generate_iuv17,
    };
    pub mod notice_codes {
        pub use crate::domain::notice_codes::{PosteParty, poste_datamatrix, qr_payload};
    }
    pub mod debt_row {
        pub use crate::domain::debt_row::DebtFields;
    }
    pub mod reconciliation {
        pub use crate::domain::reconciliation::{
            Bolletta, Label, PaymentNotification, Source, TreasuryEvent, TreasuryMovement,
        };
    }
}

pub mod flows {
    pub mod recon {
        pub use crate::flows::recon::Item;
    }
}

pub mod nodesim {
    pub use crate::nodesim::{NODE_FOR_PA_PATH, PrimitiveVersion, SimConfig, SimHandle, start};
}

pub mod pagopa {
    pub mod checkout {
        pub use crate::pagopa::checkout::{Cart, CartNotice, ReturnUrls, create_cart};
    }
}

pub mod pdf {
    pub use crate::pdf::{notice_pdf, write_notices_zip};
    pub mod input {
        pub use crate::pdf::input::{
            NoticeOrgView, NoticeView, OptionKind, PaymentOptionView, PostalView, SecondLanguage,
        };
    }
}

pub mod services {
    pub mod admin {
        pub mod access {
            pub use crate::services::admin::access::OrgAccess;
        }
        pub mod api_tokens {
            pub use crate::services::admin::api_tokens::create_token;
        }
        pub mod orgs {
            pub use crate::services::admin::orgs::{OrgChanges, add_org, set_sil_password};
        }
    }
    pub mod reconciliation {
        pub use crate::services::reconciliation::{
            Filter, label_months, list, load_items, rebuild, reconcile_pending, set_settings,
        };
    }
    pub mod debts {
        pub use crate::services::debts::{Source, add_debt};
        pub mod documents {
            pub use crate::services::debts::documents::build_notice;
        }
        pub mod exports {
            pub use crate::services::debts::exports::{ExportRequest, request_export, run_export};
        }
        pub mod search {
            pub use crate::services::debts::search::{Criteria, build_query, csv, search};
        }
    }
    pub mod demo {
        pub use crate::services::demo::seed;
    }
    pub mod sil {
        pub mod sessions {
            pub use crate::services::sil::sessions::{
                NewSession, SessionItem, SessionKind, ShowMode, begin_checkout, start,
            };
        }
    }
}

pub mod soap {
    pub use crate::soap::{Element, XmlWriter, envelope, escape, fault_envelope, parse_document, parse_envelope};
}

pub mod store {
    pub use crate::store::{Db, SCHEMA_VERSION, StoreError};
    pub mod audit {
        pub use crate::store::audit::{AuditEntry, insert_audit};
    }
    pub mod debt_types {
        pub use crate::store::debt_types::{DebtTypeRecord, find_debt_type, list_debt_types};
    }
    pub mod debts {
        pub use crate::store::debts::{DebtRecord, insert_debt};
    }
    pub mod orgs {
        pub use crate::store::orgs::{OrgRecord, find_org_by_ipa};
    }
    pub mod receipts {
        pub use crate::store::receipts::{ReceiptRecord, ReceiptTransferRecord, insert_receipt};
    }
    pub mod reporting {
        pub use crate::store::reporting::{
            ReportingFlowRecord, ReportingFlowState, ReportingPaymentRecord, insert_flow,
        };
    }
}

pub mod upstream {
    pub use crate::flows::pagati_read::{PagatiDoc, PaymentOutcome};
    pub use crate::upstream::{
        Action, CartElement, Creds, DovutiDoc, DovutoItem, PagatiKey, SilClient, SpcKind, Timeouts, UpstreamError,
        VersamentoDoc,
    };
}

pub mod web {
    pub use crate::web::{backoffice_routes, routes};
    pub mod front {
        pub use crate::web::front::{CONNECTIONS, CONNECTIONS_PER_CLIENT, HANDSHAKES, HANDSHAKES_PER_CLIENT};
    }
    pub mod forms {
        pub use crate::web::forms::{Form, encode};
    }
}
