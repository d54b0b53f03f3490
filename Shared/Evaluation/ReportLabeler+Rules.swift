import Foundation

/// The labeler's phrase lists: per label the patterns of a mention, of a statement that fixes the
/// label's state whatever the context ("heart size is normal": Cardiomegaly absent), and of phrases
/// that contain a mention but are none ("pericardial effusion"); then the negation and uncertainty
/// triggers and the words that end their scope. Patterns are ICU regular expressions matched
/// against the sentences of `ReportLabeler.sentences(of:)` (lower case); in the spirit of the
/// CheXpert labeler's lists (Irvin et al. 2019), written for this project and tuned on the first
/// half of the IU reports only (see MeshAgreement).
extension ReportLabeler {
    struct LabelRules: Sendable {
        let label: CheXpertLabel
        let mentions: [String]
        var fixed: [(pattern: String, state: MentionState)] = []
        var excluded: [String] = []
    }

    /// A few words (no clause punctuation) between a subject and what is said of it.
    static let gap = #"(?:[\s-]+[a-z/]+){0,5}?[\s-]+"#
    static let heart = #"(?:heart|cardiac|cardiomediastinal|cardio-mediastinal|cardiothymic)"#
    static let mediastinum = #"(?:cardio-?)?mediastin\w*"#
    static let normalWords = #"(?:normal|within normal limits|unremarkable|upper normal|not (?:enlarged|widened)|no longer (?:enlarged|widened))"#

    static let labelRules: [LabelRules] = [
        LabelRules(label: .enlargedCardiomediastinum, mentions: [
            #"widen\w*(?: of the)? \#(mediastinum)"#, #"\#(mediastinum)\#(gap)(?:widen\w*|enlarg\w*|prominen\w*)"#,
            #"\b(?:enlarg\w*|widen\w*|prominent) (?:\w+ )?\#(mediastinum)"#,
            #"\b(?:prominen\w*|widening|enlargement|convexity) of (?:the )?(?:\w+ )?\#(mediastinum)"#,
            #"mediastin\w* (?:contour |silhouette )?(?:prominence|widening|enlargement|convexity)"#,
        ], fixed: [
            (#"\#(mediastinum)\#(gap)\#(normalWords)"#, .absent), (#"normal (?:\w+ )?\#(mediastinum)"#, .absent),
        ], excluded: [#"mediastin\w* (?:lymph nodes?|nodes?|lymphadenopathy|mass|shift)\#(gap)(?:enlarg\w*|prominen\w*)"#]),
        LabelRules(label: .cardiomegaly, mentions: [
            #"cardiomegaly"#, #"\#(heart) (?:silhouette )?enlargement"#, #"enlargement of the (?:\w+ )?(?:heart|cardiac)"#,
            #"\b(?:enlarg\w*|large|prominent) (?:\w+ )?(?:heart|(?:cardiac|cardiomediastinal) (?:silhouette|shadow|size|contour))"#,
            #"(?:heart|cardiac|cardiomediastinal)\#(gap)(?:enlarg\w*|increased|large|prominent)"#,
        ], fixed: [
            (#"\#(heart)\#(gap)\#(normalWords)"#, .absent), (#"normal (?:\w+ )?(?:heart|cardiac|cardiomediastinal)"#, .absent),
            (#"\#(heart)\#(gap)(?:upper|high|top)[\s-](?:limits? )?(?:of )?normal"#, .absent),
            (#"\#(heart)\#(gap)borderline"#, .uncertain), (#"borderline (?:\w+ )?(?:heart|cardiac|cardiomegaly)"#, .uncertain),
        ], excluded: [#"cardiac (?:device|generator|pacemaker|pacer|defibrillator|leads?|monitor\w*)"#, #"heart valve"#]),
        LabelRules(label: .lungOpacity, mentions: [
            #"opaci\w*"#, #"infiltrat\w*"#, #"densit(?:y|ies)"#, #"air[\s-]?space (?:disease|process|opaci\w*)"#,
            #"hazy|haziness"#, #"ground[\s-]?glass"#, #"reticul\w*"#, #"\bscar\w*"#, #"fibros[ie]s|fibrotic"#,
            #"interstitial (?:markings?|prominence|pattern|opaci\w*|disease|lung disease|changes?|thickening|process)"#,
            #"(?:increased|prominent|coarse\w*) (?:\w+ )?(?:interstitial|lung|pulmonary) markings"#,
            #"peribronchial (?:thickening|cuffing)"#, #"bronchial wall thickening"#,
        ], excluded: [#"(?:bone|breast|osseous|bony) densit\w*"#, #"pleural (?:\w+ )?scar\w*"#, #"pleural fibros\w*"#]),
        LabelRules(label: .lungLesion, mentions: [
            #"nodul\w*"#, #"\bmass(?:es)?\b"#, #"lesions?"#, #"tumou?rs?"#, #"neoplas\w*"#, #"carcinoma"#, #"cancer"#,
            #"malignan\w*"#, #"metasta\w*"#, #"cavitary|cavitation"#,
        ], excluded: [#"(?:rib|bone|bony|osseous|skeletal|lytic|sclerotic|blastic|destructive|expansile|osteo\w*|skin|cutaneous) (?:\w+ ){0,2}lesions?"#,
                      #"lesions? (?:of|in|involving) the (?:\w+ )?(?:ribs?|bones?|clavicle|spine|humerus|vertebra\w*)"#,
                      #"metasta\w* (?:disease )?(?:to|of|in) the (?:\w+ )?(?:bones?|spine|ribs?)"#, #"(?:bone|osseous|skeletal) metasta\w*"#, #"mass effect"#,
                      #"(?:breast|soft tissue|thyroid) mass\w*"#]),
        LabelRules(label: .edema, mentions: [
            #"edema"#, #"heart failure"#, #"\bchf\b"#, #"(?:vascular|venous|pulmonary) congestion"#, #"congestive"#,
            #"cephaliz\w*"#, #"kerley"#, #"(?:pulmonary )?vascular (?:prominence|engorgement|indistinctness|redistribution)"#,
            #"fluid overload"#, #"\bengorged\b"#, #"(?:prominen\w*|engorge\w*|indistinct\w*) (?:\w+ ){0,2}(?:vascular\w*|vasculature|vessels)"#,
            #"(?:vascular\w*|vasculature|vessels)\#(gap)(?:prominen\w*|engorge\w*|indistinct\w*|congest\w*)"#,
        ], fixed: [
            (#"(?:vascular\w*|vasculature|vessels)\#(gap)(?:\#(normalWords)|within (?:the )?(?:\w+ )?limits)"#, .absent),
            (#"normal (?:\w+ )?(?:vascular\w*|vasculature)"#, .absent),
        ], excluded: [#"soft tissue edema"#]),
        LabelRules(label: .consolidation, mentions: [#"consolidat\w*"#]),
        LabelRules(label: .pneumonia, mentions: [#"pneumonia"#, #"pneumonitis"#, #"infecti\w*"#], excluded: [
            #"granulomatous (?:\w+ )?infecti\w*"#, #"(?:prior|previous|old|remote|healed|chronic) (?:\w+ ){0,2}infecti\w*"#,
            #"(?:symptoms|signs) of infecti\w*"#, #"infecti\w* (?:\w+ )?granulomatous"#,
        ]),
        LabelRules(label: .atelectasis, mentions: [#"atelecta\w*"#, #"\bcollapse"#],
                   excluded: [#"(?:vertebral|vertebra|compression)\w* (?:\w+ )?collapse"#]),
        LabelRules(label: .pneumothorax, mentions: [#"pneumothora\w*"#]),
        LabelRules(label: .pleuralEffusion, mentions: [
            #"effusions?"#, #"pleural fluid"#, #"hydrothorax"#, #"hydropneumothorax"#,
        ], excluded: [#"pericardial effusions?"#, #"joint effusions?"#]),
        LabelRules(label: .pleuralOther, mentions: [
            #"pleural (?:\w+ )?(?:thickening|scar\w*|plaques?|calcification|fibrosis)"#,
            #"pleur(?:al|o)[\s-]?parenchymal (?:scar\w*|thickening|densit\w*|opaci\w*|changes?)"#,
            #"fibrothorax"#, #"thickening of the (?:\w+ )?pleura"#, #"fissur\w* thickening"#, #"thickening (?:in|of) the (?:\w+ )?fissure"#,
            #"(?:bi)?apical (?:\w+ )?(?:pleural )?(?:thickening|capping|caps?\b)"#,
        ]),
        LabelRules(label: .fracture, mentions: [#"fractur\w*"#, #"\bfx\b"#], excluded: [
            #"(?:catheter|lead|leads|wires?|pacemaker|pacer|device) (?:\w+ )?fractur\w*"#,
            #"fractured (?:\w+ ){0,2}(?:lead|leads|wires?|catheter)"#,
        ]),
        LabelRules(label: .supportDevices, mentions: [
            #"\btubes?\b"#, #"catheters?"#, #"\bpicc\b"#, #"\b(?:central|venous|arterial|midline|subclavian|jugular|ij) (?:venous )?lines?"#,
            #"port[\s-]?a[\s-]?cath|portacath|power ?port|mediport|(?:chest|infusion|venous) port"#,
            #"pacemaker|\bpacer\b|defibrillator|\baicd\b|\bicd\b|cardiac (?:device|generator)|pacing (?:leads?|wires?)"#,
            #"sternotomy (?:xxxx|wires?|sutures?)"#, #"(?:sternal|sternotomy|surgical|cerclage) wires?"#, #"\bclips?\b"#,
            #"valve (?:replacement|prosthesis)|prosthetic (?:\w+ )?valve|annuloplasty"#, #"\bstents?\b"#,
            #"(?:monitor\w*|ecg|ekg|telemetry) leads"#, #"electrodes"#, #"\bdrains?\b"#, #"loop recorder"#,
            #"\btubing\b"#, #"tracheostomy"#, #"\bshunt\b"#, #"stimulator"#, #"\bgenerator\b"#, #"\bdevices?\b"#,
            #"\btips?\b (?:\w+ ){0,5}(?:svc|superior vena|cavoatrial|caval|atri\w*|ventric\w*|carina|stomach|brachiocephalic|jugular|subclavian)"#,
            #"(?:atrial|ventricular|pacer|pacemaker|pacing|cardiac) (?:and (?:\w+ )?ventricular )?leads?"#, #"leads (?:in|terminat\w*|project\w*|overl\w*)"#,
            #"prosthe\w*"#, #"bone anchors?"#, #"(?:internal )?fixation"#, #"hardware"#, #"sutures?"#,
        ], excluded: [#"breast (?:\w+ )?(?:prosthe\w*|implants?)"#]),
    ]

    // Triggers. A trigger before a mention reaches it unless a scope breaker lies between them; a
    // trigger after it reaches back the same way. Checked in this order (as the CheXpert labeler
    // does): a hedged negation ("cannot exclude") makes the mention uncertain, else a negation makes
    // it absent, else an uncertainty trigger makes it uncertain, else it is present.

    static let hedgedNegationBefore = [
        #"(?:cannot|can not|can't|could not|not) (?:be )?(?:exclud\w*|rule[ds]? out|excluded)"#,
    ]
    static let hedgedNegationAfter = [
        #"(?:cannot|can not|can't|could not|not|is not|are not) (?:be |been )?(?:\w+ )?(?:exclud\w*|ruled? out)"#,
        #"(?:is|are) not (?:entirely )?(?:excluded|ruled out)"#,
    ]
    static let negationBefore = [
        #"\bno\b"#, #"\bwithout\b"#, #"negative for"#, #"free of"#, #"absence of"#, #"absent"#, #"clear of"#,
        #"resolution of"#, #"resolved"#, #"ruled? out"#, #"\bnot\b"#, #"\bnor\b"#, #"removal of"#,
        #"\bnegative\b"#, #"no evidence of"#,
    ]
    static let negationAfter = [
        #"(?:is|are|was|were|has been|have been)? ?(?:not|no longer) (?:[\w-]+ )?(?:seen|identified|present|visualized|demonstrated|evident|appreciated|noted|visible|detected|apparent)"#,
        #"(?:has|have) (?:\w+ )?(?:resolved|cleared)"#, #"\bresolved\b"#, #"(?:is|are|has been|have been) (?:\w+ )?removed"#,
        #"\b(?:is|are|has been|have been) ruled out"#, #"(?:is|are) absent"#, #"within (?:the )?(?:normal )?limits(?: of normal)?"#,
        #"(?:is|are|appears?) (?:\w+ )?normal\b"#, #"\bno longer (?:\w+ )?(?:enlarged|widened|seen|present|visualized)"#,
    ]
    static let uncertaintyBefore = [
        #"\bmay\b"#, #"\bmight\b"#, #"\bcould\b"#, #"possib\w*"#, #"probabl\w*"#, #"\blikely\b"#, #"suggest\w*"#, #"questionabl\w*"#,
        #"\bquestion\w*"#, #"concern\w*"#, #"suspicio\w*"#, #"suspect\w*"#, #"differential"#, #"could (?:be|represent)"#,
        #"\bversus\b"#, #"\bvs\b"#, #"\bor\b"#, #"\?"#, #"\bconsider(?:ed|ing|ations?)?\b"#, #"borderline"#, #"equivocal"#, #"uncertain"#,
        #"indeterminate"#, #"\bquery\b"#, #"may represent"#, #"worrisome"#, #"(?:cannot|can not|can't) (?:be )?distinguish\w*"#,
        #"\bpresum\w*"#, #"\bfavor\w*"#, #"\bif\b"#, #"\bcorrelat\w*"#, #"represent\w*"#, #"compatible with"#, #"\bevaluat\w*"#, #"\bapparent\b"#,
    ]
    static let uncertaintyAfter = [
        #"(?:is|are|be) (?:not )?(?:\w+ )?(?:possible|likely|suspected|questioned|favored|considered|uncertain)"#,
        #"\bversus\b"#, #"\bvs\b"#, #"\?"#, #"\bor\b"#, #"may (?:also )?be (?:present|seen|noted)"#,
        #"(?:is|are) (?:a |an )?(?:consideration|possibility|concern)"#, #"\bnot (?:\w+ )?(?:certain|definite|excluded)"#,
    ]
    /// Phrases that contain a trigger but trigger nothing ("no change", "not only").
    static let pseudoTriggers = [
        #"no (?:\w+ )?(?:change|increase|worsening|progression|interval change)"#, #"not only"#, #"without (?:\w+ )?change"#,
        #"(?:no|not) (?:significantly )?(?:changed|increased)"#, #"\bgram[\s-]negative\b"#,
        #"cannot be (?:completely )?assessed"#, #"\bfavor(?:ing)? (?:\w+ )?over\b"#,
    ]
    /// Where a trigger's scope ends.
    static let scopeBreakers = [
        #"\bbut\b"#, #"\bhowever\b"#, #"\balthough\b"#, #"\bthough\b"#, #"\bwhich\b"#, #"\bexcept\b"#, #"\baside from\b"#,
        #"\bapart from\b"#, #"\bother than\b"#, #"\bnevertheless\b"#, #"\byet\b"#, #"\bwhile\b"#, #"\bwhereas\b"#, #";"#, #":"#,
        #"\bthere (?:is|are|has been|have been|remains?)\b"#, #"\band (?:the|there|a|an)\b"#, #"\bwith\b"#,
        #"\bsecondary to\b"#, #"\bdue to\b"#, #"\bconsistent with\b"#, #"\bstill\b"#, #"\bpersist\w*"#, #"\bremains?\b"#,
        #"\bnoted\b"#, #"\bseen\b"#, #"\bpresent\b"#,
        // ", " or "and " before a modifier or a new clause ("no pneumothorax, small left effusion"); after a
        // comma not when an "or", "nor" or "/" in the same clause closes a list ("no consolidation, large
        // effusion, or pneumothorax"). Only the separator is the breaker, so a mention may start with the modifier.
        #",\s*(?=(?:\#(listModifiers))\b(?!(?:(?!\b(?:but|however|which|while|whereas|there)\b)[^;:]){0,200}?(?:\b(?:or|nor)\b|/)))"#,
        #"\band\s+(?=(?:\#(listModifiers))\b)"#,
    ]
    /// The words after which a ", " or "and " ends a trigger's scope (a new clause or a present finding's modifier).
    static let listModifiers = [
        "stable", "unchanged", "new", "newly", "small", "mild", "mildly", "moderate", "moderately", "large", "minimal", "trace",
        "tiny", "slight", #"increas\w*"#, #"decreas\w*"#, "persistent", #"improv\w*"#, #"worsen\w*"#, #"redemonstrat\w*"#,
        "again", "residual", "interval", "continued", "there", "the", "a", "an",
    ].joined(separator: "|")
}
