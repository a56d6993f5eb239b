"""Reference data of the modelled K-d'école ENT: projects, screen values, names.

Everything here is static. Screen values are verbatim French labels from the
vendor guide and ``docs/console-screens.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CasSource:
    """An identity source of a K-d'école CAS selection page (``login?selection=<code>``)."""

    code: str
    #: local (the ENT's own accounts, the CAS's login form), educonnect or agents (SAML elsewhere)
    kind: str
    category: str
    label: str


#: CAS dialects: Apereo's login page at once, or K-d'école's identity-source selection page first
CAS_DIALECTS: tuple[str, ...] = ("apereo", "kdecole")
CAS_SOURCE_KINDS: tuple[str, ...] = ("local", "educonnect", "agents")


@dataclass(frozen=True)
class ProjectInfo:
    """One ENT project of the vendor's table (name + real CAS URL), and its CAS's dialect."""

    slug: str
    name: str
    real_cas_url: str
    departements: tuple[str, ...]
    cas_dialect: str = "apereo"
    #: prefix of the selection codes (``TOULO`` gives ``TOULO-ENT_parent_eleve``); default: the slug
    cas_prefix: str = ""

    def cas_sources(self) -> tuple[CasSource, ...]:
        """The identity sources of the project's selection page (K-d'école dialect), in page order."""
        prefix = self.cas_prefix or self.slug.upper()
        return (
            CasSource(f"{prefix}-EDU_parent_eleve", "educonnect", "Élèves et parents",
                      "Élève ou parent : se connecter avec ÉduConnect"),
            CasSource(f"{prefix}-ENT_parent_eleve", "local", "Compte de l'ENT",
                      "Se connecter avec un compte de l'ENT (identifiant et mot de passe remis par l'établissement)"),
            CasSource(f"{prefix}-AGT_personnel", "agents", "Personnels de l'Éducation nationale",
                      "Agent de l'Éducation nationale : guichet académique"),
        )


#: The vendor guide's table of ENT projects and their real CAS URLs.
PROJECTS: tuple[ProjectInfo, ...] = (
    ProjectInfo("aefe", "AEFE", "https://cas.kosmoseducation.com", ("099",)),
    ProjectInfo("agora06", "Agora06", "https://cas.agora06.fr", ("006",)),
    ProjectInfo("arsene76", "Arsène76", "https://cas.arsene76.fr", ("076",)),
    ProjectInfo("cybercolleges42", "Cybercollèges42", "https://cas.cybercolleges42.fr", ("042",)),
    ProjectInfo("eclat-bfc", "Eclat-BFC", "https://cas.eclat-bfc.fr", ("021", "025", "039", "070", "071", "089")),
    ProjectInfo("ecollege31", "E-Collège31", "https://cas.ecollege.haute-garonne.fr", ("031",)),
    ProjectInfo("ent27", "ENT27", "https://cas.ent27.fr/", ("027",)),
    ProjectInfo("kosmos", "Ent Kosmos", "https://cas.pdl.kosmoseducation.com", ("044", "049", "053", "072", "085")),
    ProjectInfo("entcreuse", "L'ENT Creuse", "https://cas.entcreuse.fr", ("023",)),
    ProjectInfo("auvergnerhonealpes", "Ma classe en Auvergne-Rhône-Alpes", "https://cas.ent.auvergnerhonealpes.fr", ("001", "038", "063", "069", "073", "074")),
    ProjectInfo("occitanie", "Mon ENT Occitanie", "https://cas.mon-ent-occitanie.fr", ("031", "034", "030", "011", "066", "081", "082", "065"),
                "kdecole", "TOULO"),
    ProjectInfo("mbn", "Mon Bureau Numérique", "https://cas.monbureaunumerique.fr", ("067", "068", "057", "054", "088", "051", "010")),
    ProjectInfo("valdoise", "Moncollege.valdoise.fr", "https://cas.moncollege.valdoise.fr", ("095",)),
    ProjectInfo("webcollege", "Webcollege", "https://cas.webcollege.seinesaintdenis.fr", ("093",)),
)

PROJECTS_BY_SLUG: dict[str, ProjectInfo] = {p.slug: p for p in PROJECTS}

# ---------------------------------------------------------------- profiles

PROFILES: tuple[str, ...] = ("Elève", "Parent", "Enseignant", "Personnel", "Maître de stage", "Inspecteur")
PROFILE_UNDEFINED = "Indéfini(e)"

# ------------------------------------------------------- service screen values

SSO_TYPES: tuple[str, ...] = ("Pas de SSO ou SSO Standard", "SSO Pronote avec CAS")
SSO_STANDARD, SSO_PRONOTE = SSO_TYPES
XITI_TYPES: tuple[str, ...] = (
    "Aucun",
    "Services de vie scolaire",
    "Services pédagogiques",
    "Services de communication",
    "Services d'information et d'orientation",
    "Ressources numériques",
)
REGROUPEMENTS: tuple[str, ...] = ("Scolarité", "Vie scolaire", "Pédagogie", "Communication", "Ressources", "Orientation", "Outils")
PRONOTE_VERSIONS: tuple[str, ...] = tuple(f"PRONOTE {year}" for year in range(2018, 2026))
CURRENT_PRONOTE_VERSION = PRONOTE_VERSIONS[-1]
BARRE_VALUES: tuple[str, ...] = ("Oui", "Non")
INTITULE_MAX = 64

#: Internal services present on every site (code, intitulé), in screen order.
INTERNAL_SERVICES: tuple[tuple[str, str], ...] = (
    ("ABS", "Absences"),
    ("ADMIN", "Administration"),
    ("AGENDAPERSON", "Agenda"),
    ("HELP", "Aide en ligne"),
    ("ANNU", "Annuaire"),
    ("CDTP", "Cahier de textes"),
)

# ------------------------------------------------------ access rule values

ROLES: tuple[str, ...] = ("Accès au service", "Administration du service")

#: Cible codes (form values) and their screen labels, in screen order.
CIBLES: dict[str, str] = {
    "site": "Établissement(s) du site courant",
    "etablissements": "Liste personnalisée d'établissements",
    "groupes": "Liste de groupes",
    "ent": "Tout l'ENT",
}
INDIFFERENT = "Indifférent(e)"

#: Subject taught -> discipline de poste (teachers).
MATIERES: dict[str, str] = {
    "Mathématiques": "L1300 MATHEMATIQUES",
    "Français": "L0202 LETTRES MODERNES",
    "Histoire-géographie": "L1000 HISTOIRE-GEOGRAPHIE",
    "Anglais": "L0422 ANGLAIS",
    "Allemand": "L0421 ALLEMAND",
    "Espagnol": "L0426 ESPAGNOL",
    "Physique-chimie": "L1500 PHYSIQUE-CHIMIE",
    "Sciences de la vie et de la Terre": "L1600 SC. VIE & TERRE",
    "Technologie": "L1400 TECHNOLOGIE",
    "Éducation physique et sportive": "L1900 EDUCATION PHYSIQUE ET SPORTIVE",
    "Arts plastiques": "L1800 ARTS PLASTIQUES",
    "Éducation musicale": "L1700 EDUCATION MUSICALE",
}
DISCIPLINES: tuple[str, ...] = tuple(sorted(set(MATIERES.values()) | {"L0080 DOCUMENTATION"}))
FONCTIONS: tuple[str, ...] = (
    "Direction",
    "Éducation",
    "Enseignement",
    "Documentation",
    "Personnels administratifs",
    "Médico-social",
    "Administrateur ENT",
)
STAFF_FONCTIONS: tuple[str, ...] = ("Direction", "Éducation", "Documentation", "Personnels administratifs", "Médico-social")

# ----------------------------------------------------------- names and places

ETAB_PATRONS: tuple[str, ...] = (
    "Jean Moulin", "Marie Curie", "Victor Hugo", "Jules Ferry", "Louis Pasteur", "Jean Jaurès",
    "Simone Veil", "Albert Camus", "Jacques Prévert", "Paul Éluard", "Georges Brassens", "Anne Frank",
    "Jean de La Fontaine", "Antoine de Saint-Exupéry", "Colette", "George Sand", "Condorcet",
    "Olympe de Gouges", "Lucie Aubrac", "Louise Michel", "Émile Zola", "Romain Rolland", "Jean Rostand",
    "Henri Matisse", "Claude Monet", "Frédéric Mistral", "Jean Monnet", "Aimé Césaire", "Rosa Parks",
    "Germaine Tillion", "Marcel Pagnol", "Jules Verne", "Honoré de Balzac", "Gustave Eiffel",
    "Paul-Émile Victor", "Irène Joliot-Curie", "Voltaire", "Molière", "Jean-Jacques Rousseau",
    "Camille Claudel", "Hubertine Auclert", "Pierre Mendès France", "René Cassin", "Léon Blum",
    "Alexandre Dumas", "Arthur Rimbaud", "Françoise Dolto", "Nelson Mandela", "Pierre de Fermat",
    "Champollion", "Jean Mermoz", "Gaston Fébus", "Clémence Isaure", "Déodat de Séverac",
    "Albert Schweitzer", "Jean-Frédéric Oberlin", "Sébastien Brant", "Erckmann-Chatrian",
    "Robert Schuman", "Les Tilleuls", "Le Ried", "La Vallée de l'Hérault", "Les Garrigues",
)
ETAB_KINDS: tuple[tuple[str, int], ...] = (("Collège", 60), ("Lycée", 25), ("Lycée professionnel", 15))

CITIES: dict[str, tuple[str, ...]] = {
    "067": ("Strasbourg", "Haguenau", "Sélestat", "Saverne", "Obernai", "Illkirch-Graffenstaden", "Schiltigheim", "Bischwiller"),
    "068": ("Mulhouse", "Colmar", "Saint-Louis", "Guebwiller", "Thann"),
    "057": ("Metz", "Thionville", "Forbach", "Sarreguemines", "Saint-Avold"),
    "054": ("Nancy", "Lunéville", "Toul", "Pont-à-Mousson"),
    "088": ("Épinal", "Saint-Dié-des-Vosges", "Remiremont"),
    "051": ("Reims", "Châlons-en-Champagne", "Épernay"),
    "010": ("Troyes", "Romilly-sur-Seine", "Bar-sur-Aube"),
    "031": ("Toulouse", "Muret", "Colomiers", "Blagnac", "Saint-Gaudens", "Balma"),
    "034": ("Montpellier", "Béziers", "Sète", "Lunel", "Agde"),
    "030": ("Nîmes", "Alès", "Bagnols-sur-Cèze"),
    "011": ("Carcassonne", "Narbonne", "Castelnaudary"),
    "066": ("Perpignan", "Céret", "Prades"),
    "081": ("Albi", "Castres", "Gaillac"),
    "082": ("Montauban", "Castelsarrasin", "Moissac"),
    "065": ("Tarbes", "Lourdes", "Bagnères-de-Bigorre"),
}
DEFAULT_CITIES: tuple[str, ...] = ("Saint-Martin", "Villeneuve", "Beaulieu", "Fontaine-l'Évêque")

CLASSES: dict[str, tuple[str, ...]] = {
    "Collège": ("6e A", "6e B", "5e A", "5e B", "4e A", "4e B", "3e A", "3e B"),
    "Lycée": ("2nde 1", "2nde 2", "1re G1", "1re G2", "Tle G1", "Tle G2"),
    "Lycée professionnel": ("2nde Bac Pro MELEC", "1re Bac Pro MELEC", "Tle Bac Pro MELEC", "CAP 1 Cuisine"),
}
#: Birth years of pupils per kind of établissement (rentrée 2026).
PUPIL_BIRTH_YEARS: dict[str, tuple[int, int]] = {
    "Collège": (2011, 2015),
    "Lycée": (2008, 2011),
    "Lycée professionnel": (2007, 2011),
}
EXTRA_GROUPS: tuple[str, ...] = ("Professeurs principaux", "Équipe de direction", "Délégués des élèves")

CHILD_FIRST_NAMES: tuple[str, ...] = (
    "Lucas", "Hugo", "Louis", "Gabriel", "Raphaël", "Arthur", "Jules", "Maël", "Noé", "Théo", "Léo",
    "Adam", "Nathan", "Timéo", "Enzo", "Mathéo", "Éthan", "Sacha", "Noah", "Yanis", "Mohamed", "Rayan",
    "Ibrahim", "Jean-Baptiste", "Pierre-Louis", "Loïc", "Anaël", "Joël", "Emma", "Jade", "Louise",
    "Alice", "Chloé", "Léa", "Manon", "Inès", "Zoé", "Lina", "Anaïs", "Maëlys", "Océane", "Héloïse",
    "Clémence", "Noémie", "Éloïse", "Agathe", "Aïcha", "Fatoumata", "Anne-Sophie", "Lou-Ann", "Gaëlle",
)
ADULT_FIRST_NAMES: tuple[str, ...] = (
    "Nathalie", "Isabelle", "Sylvie", "Sandrine", "Stéphanie", "Céline", "Valérie", "Hélène",
    "Véronique", "Françoise", "Marie-Christine", "Anne-Laure", "Frédéric", "Stéphane", "Sébastien",
    "Jérôme", "Thierry", "Laurent", "François", "Éric", "Hervé", "Jean-Marc", "Jean-François",
    "Pascal", "Grégory", "Mickaël", "Karim", "Mamadou", "Nadège", "Maryvonne", "Gaëtan", "Noël",
)
LAST_NAMES: tuple[str, ...] = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
    "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont", "Lambert", "Bonnet",
    "François", "Martinez", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Müller",
    "Henry", "Roussel", "Nicolas", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont",
    "Lopez", "Fontaine", "Chevalier", "Robin", "Le Goff", "Le Gall", "N'Diaye", "D'Almeida",
    "Da Silva", "Dos Santos", "Nguyen", "Saint-Martin", "de La Fontaine", "Lemaître", "Bérenger",
    "Schœffer", "Oberlé", "Schneider", "Meyer", "Weber", "Fischer", "Wagner", "O'Neill", "Ben Saïd",
    "El Amrani", "Martin-Durand", "Dupré-Lafon", "Hoarau", "Kœnig", "Castaño", "Lévêque", "Jourdain",
)
