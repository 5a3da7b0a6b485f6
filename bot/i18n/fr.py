"""Messages en français : modèles ``str.format`` à paramètres nommés, en texte brut.

Mêmes clés et mêmes paramètres que ``en.py``. Les adaptateurs échappent le texte : pas de balisage.
Une entrée qui dépend de ``count`` est un dict des formes plurielles CLDR (``one`` : 0 et 1
en français, ``other``, ``many``). Apostrophe typographique (’) partout.
"""

MESSAGES: dict[str, str | dict[str, str]] = {
    # common
    "common.yes": "Oui",
    "common.no": "Non",
    "common.none": "Non précisé",
    "date.day_at_time": "{day} à {time}",
    # buttons
    "button.approve": "Approuver",
    "button.reject": "Refuser",
    "button.request_changes": "Demander des modifications",
    "button.escalate": "Transmettre",
    "button.withdraw": "Retirer",
    "button.resubmit": "Modifier et renvoyer",
    "button.accept": "J’accepte",
    "button.send": "Envoyer",
    "button.confirm": "Confirmer",
    # fields
    "field.author": "Envoyée par",
    "field.site": "Site",
    "field.campaign": "Campagne",
    "field.sensitive": "Sensible",
    "field.status": "Statut",
    "field.photos": "Photos",
    "field.caption": "Légende",
    "field.people_consented_question": (
        "Toutes les personnes reconnaissables sur ces photos ont accepté d’y figurer"
    ),
    # consentement des personnes sur une photo (ticket 13)
    "field.appears": "Qui apparaît",
    "field.appears_question": "Qui apparaît sur ces photos ?",
    "field.people": "Collègues sur les photos (leur accord sera demandé)",
    "field.outside_agreement": (
        "Des personnes extérieures à l’entreprise apparaissent : j’ai leur accord écrit"
    ),
    "appears.nobody": "Personne de reconnaissable",
    "appears.colleagues": "Des collègues",
    "appears.outside": "Des personnes extérieures à l’entreprise",
    "appears.outside_declared": "Des personnes extérieures (accord écrit déclaré)",
    "appears.unknown": "Non demandé",
    "consent.state.pending": "en attente",
    "consent.state.agreed": "d’accord",
    "consent.state.declined": "refus",
    "consent.state.withdrawn": "accord retiré",
    "card.review.consent_hint": (
        "Tout le monde n’a pas encore donné son accord : la contribution peut être "
        "approuvée pour un usage interne uniquement."
    ),
    "card.internal_only": "Approuvée pour un usage interne uniquement.",
    "card.consent_warning": (
        "Approuvée pour un usage externe alors que tout le monde n’a pas donné son accord."
    ),
    "card.consent_withdrawn": (
        "Accord retiré : plus dans les récaps, la bibliothèque ni l’usage externe."
    ),
    "button.approve_internal": "Approuver (interne)",
    "button.consent_agree": "J’accepte",
    "button.consent_decline": "Je refuse",
    "button.consent_withdraw": "Retirer",
    "digest.internal_only": "usage interne uniquement",
    "consent.request": (
        "{author} a envoyé une photo sur laquelle vous apparaissez (contribution n° {id}). "
        "Acceptez-vous qu’elle soit utilisée par l’équipe communication ?"
    ),
    "consent.request_hint": (
        "Vous seul pouvez répondre. Vous pourrez changer d’avis avec /relais consent."
    ),
    "consent.reminder": (
        "Petit rappel : {author} a envoyé une photo sur laquelle vous apparaissez et attend "
        "votre réponse. Sans réponse, elle ne sera pas utilisée hors de l’entreprise."
    ),
    "consent.agreed": "Merci : vous acceptez d’apparaître dans la contribution n° {id}.",
    "consent.declined": (
        "C’est noté : vous refusez d’apparaître dans la contribution n° {id}. Elle ne sera "
        "pas utilisée hors de l’entreprise."
    ),
    "consent.withdrawn": (
        "Votre accord pour la contribution n° {id} est retiré : elle sort des prochains "
        "récaps, de la bibliothèque et des exports. L’équipe communication est prévenue."
    ),
    "consent.list_title": "Les photos où vous apparaissez",
    "consent.list_empty": (
        "Vous n’apparaissez sur aucune photo envoyée à Relais, et aucune des vôtres n’est utilisée."
    ),
    "consent.list_line": "N° {id} de {author} — {caption} — votre réponse : {state}",
    "consent.list_own": "N° {id} (votre photo, autorisée hors de l’entreprise) — {caption}",
    "consent.no_caption": "sans légende",
    "consent.cms_withdrawn": (
        "{name} a retiré son accord pour la contribution n° {id} de {author} : elle sort "
        "des prochains récaps, de la bibliothèque et des exports."
    ),
    "consent.cms_withdrawn_author": (
        "{author} a retiré sa photo n° {id} de tout usage hors de l’entreprise : elle sort "
        "des prochains récaps, de la bibliothèque et des exports."
    ),
    "console.people": "{label} (noms séparés par des virgules ; Entrée : aucun)",
    "help.consent": (
        "/relais consent — les photos où vous apparaissez, votre réponse et « Retirer »"
    ),
    "error.appears_required": (
        "Indiquez qui apparaît sur les photos : personne, des collègues, ou des personnes "
        "extérieures à l’entreprise."
    ),
    "error.people_required": (
        "Choisissez les collègues qui apparaissent sur les photos (hors vous)."
    ),
    "error.too_many_people": "{max} collègues au plus par contribution.",
    "error.unknown_people": "Introuvable dans cet espace : {names}.",
    "error.outside_agreement_required": (
        "Cochez la case pour confirmer que vous avez l’accord écrit des personnes "
        "extérieures, ou choisissez une autre réponse."
    ),
    "error.consent_not_found": "Cette demande d’accord n’existe plus.",
    "error.not_named": "Seule la personne concernée peut répondre à cette demande.",
    "error.consent_withdrawn_already": (
        "Vous avez déjà retiré votre accord pour cette photo ; il reste retiré."
    ),
    "error.consent_incomplete": (
        "Non approuvée : {names} n’a pas donné son accord. Approuvez-la pour un usage "
        "interne uniquement, ou attendez la réponse."
    ),
    "field.sensitive_question": "Contenu sensible : à faire vérifier par un approbateur",
    "field.reason": "Motif (transmis à la personne concernée)",
    "field.changes": "Que faut-il modifier ? (transmis à la personne concernée)",
    "field.roles": "Rôles",
    "field.points": "Points",
    "field.charter": "Charte",
    # statuses
    "status.pending": "En attente de validation",
    "status.approved": "Approuvée",
    "status.rejected": "Refusée",
    "status.changes_requested": "Modifications demandées",
    "status.escalated": "Transmise à un approbateur",
    "status.withdrawn": "Retirée",
    # roles
    "role.member": "Membre",
    "role.ambassador": "Ambassadeur",
    "role.referent": "Référent de site",
    "role.cm": "Community manager",
    "role.approver": "Approbateur",
    "role.admin": "Administrateur",
    # review card
    "card.photo_alt": "Photo {n} envoyée par {author}",
    "card.video_alt": "Vidéo {n} envoyée par {author} (image d’aperçu)",
    "card.video_play": "▶ Lire la vidéo {n}",
    "card.submitted_at": "Envoyée le {at} · version {revision}",
    "card.review.title": "Contribution n° {id}",
    "card.review.text": "Contribution n° {id}, envoyée par {author}",
    "card.review.sensitive_hint": (
        "Marquée comme sensible : seul un approbateur peut l’approuver. "
        "Vous pouvez tout de même la refuser, demander des modifications ou la transmettre."
    ),
    "card.review.escalated": "Transmise par {by}, en attente d’un approbateur.",
    "card.decision.pending": "En attente de validation",
    "card.decision.approved": "Approuvée par {by} le {at}",
    "card.decision.rejected": "Refusée par {by} le {at}",
    "card.decision.changes_requested": "Modifications demandées par {by} le {at}",
    "card.decision.escalated": "Transmise à un approbateur par {by} le {at}",
    "card.decision.withdrawn": "Retirée avant décision (envoyée le {at})",
    "card.decision.reason": "Commentaire : {reason}",
    "card.superseded": (
        "Cette carte n’est plus à jour : une nouvelle version de la contribution n° {id} "
        "a été envoyée. Traitez plutôt la nouvelle carte."
    ),
    # direct messages
    "dm.receipt": "Merci ! Votre contribution n° {id} est bien arrivée et attend sa validation.",
    "dm.receipt_hint": (
        "Vous recevrez un message dès qu’elle aura été examinée. Vous avez changé d’avis ? "
        "Vous pouvez la retirer tant qu’aucune décision n’est prise."
    ),
    "dm.outcome.pending": "Votre contribution n° {id} est de nouveau en attente de validation.",
    "dm.outcome.approved": (
        "Bonne nouvelle : votre contribution n° {id} a été approuvée par {by}. Merci !"
    ),
    "dm.outcome.rejected": (
        "Votre contribution n° {id} n’a pas été retenue par {by}. "
        "Merci quand même pour votre participation : le commentaire ci-dessous explique pourquoi."
    ),
    "dm.outcome.changes_requested": (
        "{by} demande des modifications sur votre contribution n° {id}. "
        "Lisez le commentaire ci-dessous, puis utilisez « Modifier et renvoyer »."
    ),
    "dm.outcome.escalated": (
        "{by} a transmis votre contribution n° {id} à un approbateur pour un second avis."
    ),
    "dm.outcome.withdrawn": (
        "Votre contribution n° {id} a été retirée. Elle ne sera pas examinée."
    ),
    "dm.outcome.caption": "Légende : {caption}",
    "dm.outcome.points": "Points gagnés : +{points}",
    "dm.escalated_to_you": (
        "{by} vous transmet la contribution n° {id} pour décision, car elle peut être sensible. "
        "Merci de l’approuver ou de la refuser ci-dessous."
    ),
    # forms
    # recognition: /relais leaderboard and the Thank button
    "help.leaderboard": (
        "/relais classement [mois|tout] [site] — qui a apporté le plus de points ce mois-ci "
        "(ou depuis le début), pour tous ou pour un site"
    ),
    "leaderboard.title": "Classement — {period}",
    "leaderboard.title_site": "Classement — {site}, {period}",
    "leaderboard.all_time": "depuis le début",
    "leaderboard.line": {
        "one": "{rank}. {name} — {count} point",
        "other": "{rank}. {name} — {count} points",
    },
    "leaderboard.line_you": {
        "one": "{rank}. {name} (vous) — {count} point",
        "other": "{rank}. {name} (vous) — {count} points",
    },
    "leaderboard.others": {
        "one": "… et {count} autre personne (points : {points})",
        "other": "… et {count} autres personnes (points : {points})",
    },
    "leaderboard.totals": {
        "one": "{count} personne a contribué — points : {points}, photos approuvées : {photos}",
        "other": (
            "{count} personnes ont contribué — points : {points}, photos approuvées : {photos}"
        ),
    },
    "leaderboard.counts_only": (
        "Moins de {min} personnes seraient nommées ici : seuls les totaux sont affichés."
    ),
    "leaderboard.own_points": {
        "one": "Vous : {count} point",
        "other": "Vous : {count} points",
    },
    "leaderboard.only_you": (
        "(vous seul voyez cette ligne : votre nom est masqué pour les autres ; "
        "/relais config me leaderboard on l’affiche)"
    ),
    "leaderboard.empty": "Pas encore de points sur cette période.",
    "leaderboard.usage": (
        "/relais classement [mois|tout] [site] · /relais config me leaderboard off "
        "retire votre nom (vous comptez toujours)"
    ),
    "button.thank": "Remercier",
    "form.review.thank.title": "Remercier l’auteur de la contribution n° {id}",
    "field.thanks_note": "Votre mot (envoyé une seule fois à l’auteur)",
    "thanks.default_note": "Merci pour cette photo !",
    "thanks.dm": "{by} vous remercie pour votre contribution n° {id} !",
    "thanks.dm_note": "Son mot : {note}",
    "thanks.sent": "Vos remerciements ont été envoyés à {author} (n° {id}).",
    "card.thanked": "Remerciement envoyé par {by} le {at}",
    "error.already_thanked": (
        "L’auteur de la contribution n° {id} a déjà été remercié par {by} le {at}. "
        "Il ne reçoit qu’un message."
    ),
    "error.thank_not_approved": (
        "Seule une contribution approuvée peut être remerciée (la n° {id} ne l’est pas)."
    ),
    "form.join.title": "Charte des ambassadeurs",
    "form.join.intro": (
        "Charte, version {version}. Merci de la lire : en l’acceptant, "
        "vous devenez ambassadeur du programme."
    ),
    "form.submit.title": "Photos ou actualité",
    "form.submit.caption_hint": (
        "Que se passe-t-il ? Qui, où, et pourquoi cela vaut la peine d’être partagé."
    ),
    "form.review.reject.title": "Refuser n° {id}",
    "form.review.changes.title": "Modifications n° {id}",
    # help
    "help.title": "Relais : ce que vous pouvez faire",
    "help.intro": "Relais transmet vos photos du terrain à l’équipe communication.",
    "help.submit": "/submit [légende] — envoyer des photos du terrain, ou une actualité sans photo",
    "help.join": "/relais join — lire et accepter la charte pour devenir ambassadeur",
    "help.me": "/relais me — votre profil, vos points et vos contributions",
    "help.snooze": (
        "/relais snooze 2w — mettre les rappels en pause (never : définitivement) ; "
        "/relais snooze off pour les réactiver"
    ),
    "help.leave": "/relais leave — quitter le programme ambassadeurs",
    "help.help": "/relais help — afficher ce message",
    "help.cm": (
        "Community managers : les contributions arrivent sous forme de cartes dans le canal "
        "de validation. Leurs boutons permettent d’approuver, de refuser, de demander "
        "des modifications ou de transmettre à un approbateur. /relais digest preview (ou send) "
        "pour le récapitulatif ; /relais config pour les réglages ; /relais site pour la liste "
        "des sites ; /relais role pour nommer les référents de site (administrateurs : "
        "community managers et approbateurs) ; /relais charter publish pour une nouvelle "
        "charte ; /relais campaign new pour une campagne thématique."
    ),
    "help.referent": (
        "Référents de site : /relais me liste les contributions de votre site en attente ; "
        "quand l’équipe l’autorise, approuvez ou demandez des modifications avec les boutons "
        "du rappel quotidien."
    ),
    "help.stats": (
        "/relais stats — vos chiffres sur 12 semaines (tout le programme pour les "
        "CM), avec un graphique"
    ),
    "help.export": (
        "/relais export — les chiffres et toutes les contributions en fichiers CSV, "
        "en message privé (CM)"
    ),
    "help.unknown": "Je ne connais pas « {word} ». Essayez /relais help.",
    # joining and leaving
    "join.needed_first": (
        "Pour envoyer des photos, lisez et acceptez d’abord la charte des ambassadeurs."
    ),
    "join.new_version": (
        "La charte a changé. Lisez et acceptez la nouvelle version pour continuer "
        "à envoyer des photos."
    ),
    "join.already": (
        "Vous êtes déjà ambassadeur (charte version {version} acceptée). "
        "Envoyez vos photos avec /submit."
    ),
    "join.done": (
        "Merci ! Vous avez accepté la charte version {version}. "
        "Vous pouvez maintenant envoyer des photos avec /submit."
    ),
    "leave.done": (
        "Vous avez quitté le programme ambassadeurs. Merci pour tout ce que vous avez partagé ! "
        "Vous pouvez revenir quand vous voulez avec /relais join."
    ),
    "leave.not_member": (
        "Vous n’êtes pas ambassadeur : il n’y a rien à quitter. "
        "Vous pouvez rejoindre le programme quand vous voulez avec /relais join."
    ),
    # profile
    "me.title": "Profil : {name}",
    "me.charter_ok": "Version {version} acceptée",
    "me.charter_todo": "Version {version} à accepter : /relais join",
    "me.snoozed": ("Rappels en pause jusqu’au {until}. Réactivez-les avec /relais snooze off."),
    "me.recent": "Vos dernières contributions",
    "me.line": "n° {id} · {status} · {caption}",
    "me.none_yet": "Aucune contribution pour l’instant. Envoyez vos premières photos avec /submit.",
    "me.awaiting": "En attente de validation ({count})",
    "me.waiting_line": "n° {id} · envoyée le {at} · {caption}",
    # reminders
    "snooze.on": (
        "Rappels en pause jusqu’au {until}. "
        "Réactivez-les quand vous voulez avec /relais snooze off."
    ),
    "snooze.off": "Les rappels sont réactivés.",
    "snooze.usage": (
        "Indiquez une durée, par exemple /relais snooze 2 semaines ou /relais snooze 10j, "
        "jusqu’à 12 semaines. /relais snooze off réactive les rappels."
    ),
    # submissions and reviews
    "submission.created": "Merci ! La contribution n° {id} est envoyée pour validation.",
    "submission.resubmitted": (
        "Merci ! Votre contribution n° {id} modifiée est de nouveau en attente de validation."
    ),
    "submission.withdrawn": ("Contribution n° {id} retirée. Elle ne sera ni examinée ni publiée."),
    "review.done.approved": (
        "Contribution n° {id} ({author}) approuvée. La personne a été prévenue."
    ),
    "review.done.rejected": (
        "Contribution n° {id} ({author}) refusée. Votre motif lui sera transmis."
    ),
    "review.done.changes_requested": (
        "Modifications demandées pour la contribution n° {id} ({author}). "
        "Elle pourra être corrigée et renvoyée."
    ),
    "review.done.escalated": "Contribution n° {id} ({author}) transmise aux approbateurs.",
    # la console
    "console.welcome": (
        "Console Relais : tout le parcours sans plateforme de discussion. /help pour les commandes."
    ),
    "console.help": (
        "Commandes :\n"
        "  /as NOM             agir en tant que NOM (créé au premier usage) ; CM : {cms} ; "
        "approbateurs : {approvers}\n"
        "  /submit [légende]   envoyer des photos (les chemins des fichiers vous seront "
        "demandés)\n"
        "  /relais help|join|leave|me|snooze ...\n"
        "  N                   appuyer sur le bouton numéro N (en tant que la personne actuelle)\n"
        "  /inbox              les messages privés de la personne actuelle\n"
        "  /quit               quitter (Ctrl-D aussi)\n"
        "Dans un formulaire, Entrée garde la valeur entre crochets ; /cancel ou Ctrl-D "
        "annule le formulaire."
    ),
    "console.bye": "Au revoir.",
    "console.you_are": "Vous êtes maintenant {name} ({roles}).",
    "console.unknown": "Saisie inconnue. /help liste les commandes.",
    "console.no_button": "Il n’y a pas de bouton [{number}].",
    "console.inbox_empty": "(vide)",
    "console.dm_to": "Message privé à {name}",
    "console.updated": "message {id} modifié",
    "console.cancelled": "Annulé : rien n’a été envoyé.",
    "console.confirm": "{label} ? [O/n]",
    "console.checkbox": "{label} [o/N]",
    "console.prompt": "{text} : ",
    "console.checkbox_on": "{label} [O/n]",
    "console.photos": "{label} (chemins des fichiers, {max} au plus)",
    "console.choice": "Choix (Entrée : la valeur par défaut, ou aucune)",
    "console.choices": ("Numéros ou noms séparés par des virgules (Entrée : la valeur par défaut)"),
    "console.default": "(par défaut)",
    "console.no_match": (
        "Rien dans la liste ne correspond à « {typed} ». Tapez un numéro ou une partie du nom."
    ),
    "console.several": "Plusieurs correspondent à « {typed} » ; tapez le numéro :",
    "console.no_such_file": "{name} : fichier introuvable",
    "console.field_error": "{label} : {error}",
    "console.ask_again": "Vos autres réponses sont conservées. Répondez de nouveau :",
    # default charter
    "charter.default": (
        "- La participation est volontaire : vous pouvez arrêter à tout moment "
        "avec /relais leave.\n"
        "- Partagez des moments de la vie du site qui peuvent être montrés à tous : "
        "événements, équipes au travail, projets, réussites.\n"
        "- Ne partagez jamais d’information confidentielle : pas de données clients, "
        "ni d’écrans, documents, tableaux ou badges visibles sur la photo.\n"
        "- Toute personne reconnaissable sur une photo doit avoir accepté d’y figurer.\n"
        "- Pas d’enfants ni de mineurs sans l’accord d’un parent ou du représentant légal.\n"
        "- Respectez la vie privée de chacun : pas de photo prise à l’insu des personnes, "
        "pas de lieux privés.\n"
        "- Respectez les consignes de sécurité : pas de photo en zone interdite, "
        "en conduisant ou en manipulant une machine.\n"
        "- N’envoyez que des photos prises par vous ou que vous avez le droit de partager.\n"
        "- En cas de doute, cochez « Contenu sensible » ou demandez l’avis "
        "du community manager avant d’envoyer.\n"
        "- L’équipe communication peut recadrer ou retoucher vos contenus avant publication, "
        "ou choisir de ne pas les publier.\n"
        "- Vos données (profil, contributions) peuvent être exportées ou supprimées "
        "sur simple demande."
    ),
    # errors
    "error.generic": "Désolé, un problème est survenu de notre côté. Réessayez dans un instant.",
    "error.invalid_input": (
        "Un élément de ce formulaire n’est pas valide. Vérifiez-le et réessayez."
    ),
    "error.not_allowed": (
        "Vous n’avez pas le rôle nécessaire pour cette action. "
        "Si vous pensez que c’est une erreur, contactez le community manager."
    ),
    "error.not_found": "Élément introuvable. Il a peut-être été supprimé.",
    "error.not_ambassador": (
        "Seuls les ambassadeurs peuvent faire cela. "
        "Lancez /relais join pour lire et accepter la charte."
    ),
    "error.charter_outdated": (
        "La charte a changé (version {version}). "
        "Lisez-la et acceptez-la avec /relais join avant d’envoyer des photos."
    ),
    "error.charter_changed": (
        "La charte est passée à la version {version} pendant votre lecture. "
        "Rouvrez-la avec /relais join et acceptez la nouvelle version."
    ),
    "error.already_decided": (
        "Déjà traitée : {by} l’a passée en « {status} » le {at}. Rien n’a été modifié."
    ),
    "error.invalid_transition": (
        "Action impossible pour le moment : cette contribution est « {status} ». "
        "Rien n’a été modifié."
    ),
    "error.duplicate_photo": (
        "Vous avez déjà envoyé cette photo ou vidéo dans la contribution n° {id}. "
        "Retirez-la et réessayez."
    ),
    "error.no_photo": "Ajoutez au moins une photo.",
    "error.too_many_photos": (
        "Trop de photos : {max} au maximum par contribution. "
        "Envoyez les autres avec un nouveau /submit."
    ),
    "error.caption_too_long": (
        "Votre légende compte {length} caractères, pour un maximum de {max}. "
        "Merci de la raccourcir."
    ),
    "error.reason_required": (
        "Indiquez un motif : il sera transmis à la personne qui a envoyé la contribution."
    ),
    "error.reason_too_long": (
        "Ce texte est trop long ({max} caractères maximum). Merci de le raccourcir."
    ),
    "error.reviewers_only": (
        "Seuls les validateurs (community managers et approbateurs) peuvent faire cela."
    ),
    "error.sensitive_needs_approver": (
        "Seul un approbateur peut statuer sur une contribution sensible ou transmise. "
        "Si elle est encore en attente, utilisez « Transmettre » pour la lui confier."
    ),
    "error.no_approver": (
        "Aucun approbateur n’a encore été désigné : impossible de transmettre. "
        "Un administrateur peut en désigner un avec RELAIS_APPROVERS."
    ),
    "error.not_author": "Seule la personne qui a envoyé cette contribution peut faire cela.",
    "error.submission_not_found": (
        "La contribution n° {id} est introuvable. Vérifiez le numéro et réessayez."
    ),
    "error.unknown_action": (
        "Ce bouton ou ce formulaire n’est plus reconnu ({action}). "
        "Relancez la commande ou consultez /relais help."
    ),
    "error.member_not_found": (
        "Aucun membre trouvé pour {who}. Vérifiez la personne visée et réessayez."
    ),
    "error.unknown_site": "Ce site ne fait plus partie de la liste. Choisissez-en un autre.",
    "error.unknown_campaign": (
        "Cette campagne n’est plus disponible. Choisissez-en une autre ou laissez le champ vide."
    ),
    "error.site_too_long": (
        "Le nom du site est trop long ({max} caractères maximum). Merci de le raccourcir."
    ),
    "error.charter_empty": (
        "Le texte de la charte est vide. Collez le texte de la charte et publiez à nouveau."
    ),
    "error.no_charter": (
        "Aucune charte n’a encore été publiée : personne ne peut encore rejoindre le programme. "
        "Contactez le community manager."
    ),
    # photo intake
    "media.too_large": (
        "Ce fichier dépasse {limit_mb} Mo. Envoyez une photo plus légère ou une vidéo plus "
        "courte (la plupart des téléphones proposent une taille réduite)."
    ),
    "media.unsupported_type": (
        "Ce fichier n’est ni une photo ni une vidéo utilisable. Formats acceptés : {accepted}."
    ),
    "media.too_long": (
        "Cette vidéo dure plus de {limit_s} secondes. Merci d’envoyer un extrait plus court."
    ),
    "media.too_many_pixels": (
        "Cette photo a trop de pixels (limite : {limit_mp} mégapixels). "
        "Envoyez une version plus petite."
    ),
    "media.corrupt": (
        "Impossible de lire cette photo : le fichier semble abîmé ou incomplet. "
        "Merci de la renvoyer."
    ),
    "media.empty": "Ce fichier est vide. Merci de renvoyer la photo.",
    "media.download_failed": "Impossible de récupérer votre photo. Réessayez dans un instant.",
    "error.stale_card": (
        "Cette carte montre une ancienne version de la contribution n° {id} : "
        "elle a été modifiée et renvoyée depuis (version {revision}). "
        "Merci de relire la carte la plus récente."
    ),
    "button.join": "Rejoindre le programme",
    "button.snooze": "Suspendre les rappels 2 semaines",
    "button.snooze_off": "Reprendre les rappels",
    "button.leave": "Quitter le programme",
    "button.cancel": "Annuler",
    "button.close": "Fermer",
    "home.hint": (
        "Envoyez des photos avec /submit depuis n’importe quel canal, ou déposez-les ici "
        "dans l’onglet Messages. /relais help liste tout ce que vous pouvez faire."
    ),
    "media.login_page": (
        "Slack n’a pas laissé Relais télécharger ce fichier (une page de connexion a été "
        "envoyée à la place). Il manque sans doute à l’application la permission files:read : "
        "prévenez votre administrateur Slack."
    ),
    "slack.received": (
        "Merci ! Vos photos sont en route. Vous recevrez un message dès leur réception "
        "(en général quelques secondes)."
    ),
    "photos.file_refused": "{name} : {reason}",
    "photos.refused": (
        "Votre contribution n’a pas été enregistrée : certains fichiers sont inutilisables. "
        "Rien n’a été envoyé aux relecteurs. Réessayez sans eux."
    ),
    "slack.photos_not_received": (
        "Votre contribution n’a pas été enregistrée : Relais n’a pas pu récupérer vos photos "
        "ou vidéos depuis Slack."
    ),
    "slack.form_failed": (
        "Slack n’a pas ouvert le formulaire à temps. Relancez la commande, s’il vous plaît."
    ),
    "slack.dropped.prompt": {
        "one": "Envoyer cette photo ou vidéo à l’équipe communication ?",
        "other": "Envoyer ces {count} photos ou vidéos à l’équipe communication ?",
    },
    "slack.dropped.button": "Envoyer",
    "slack.dropped.attached": {
        "one": "{count} photo ou vidéo de votre message sera envoyée.",
        "other": "{count} photos ou vidéos de votre message seront envoyées.",
    },
    "outbox.card_stuck": (
        "La carte de relecture de la contribution n° {id} n’est pas encore arrivée aux "
        "relecteurs : {tries} essais ont échoué (dernier : {error}). Relais réessaie pendant "
        "{hours} heures ; « relais doctor » liste tous les messages bloqués."
    ),
    "photos.ignored": ("Ni photos ni vidéos, mis de côté : {names}. Acceptés : {accepted}."),
    "photos.not_images": (
        "Ces fichiers ne sont ni des photos ni des vidéos utilisables par Relais : {names}. "
        "Acceptés : {accepted}."
    ),
    "slack.dm_hint": (
        "Bonjour ! Déposez des photos ici pour les envoyer à l’équipe communication, ou tapez "
        "/submit. /relais help liste tout ce que vous pouvez faire."
    ),
    "teams.send_photos": (
        "Envoyez vos photos à Relais dans cette conversation, puis remplissez ce formulaire. "
        "Pour une actualité sans photo, remplissez un titre et un texte, puis envoyez."
    ),
    "teams.photos_attached": {
        "one": "{count} photo ou vidéo reçue.",
        "other": "{count} photos ou vidéos reçues.",
    },
    "teams.photos_not_received": (
        "Votre contribution n’a pas été enregistrée : Relais n’a pas pu récupérer vos photos "
        "ou vidéos depuis Teams."
    ),
    "teams.draft_missing": (
        "Ces photos ne sont plus disponibles. Envoyez-les de nouveau à Relais, s’il vous plaît."
    ),
    "teams.review_here_done": "Les cartes de relecture seront publiées dans ce canal désormais.",
    "teams.review_here_channel_only": (
        "Tapez « review here » dans le canal où publier les cartes de relecture "
        "(en mentionnant Relais)."
    ),
    "teams.help_words": (
        "Dans cette conversation, tapez : help, join, me, stats, leaderboard, snooze 2w, "
        "snooze off, leave ou submit (ou envoyez simplement des photos) ; consent pour les "
        "photos où vous apparaissez, config me pour vos préférences, mydata pour une copie de "
        "vos données, forget pour les faire effacer. Community managers : aussi digest, "
        "config, export, library, charter, site, role, campaign."
    ),
    "teams.html_copy": "la copie mise en forme (HTML) de votre message",
    "digest.title": "Cette semaine dans le programme ambassadeurs (du {start} au {end})",
    "digest.empty": (
        "Aucune photo approuvée cette semaine. Vous avez vu quelque chose à raconter sur votre "
        "site ? Envoyez-le en quelques secondes avec /submit."
    ),
    "digest.approved": {
        "one": "{count} photo approuvée cette semaine. Merci !",
        "other": "{count} photos approuvées cette semaine. Merci !",
    },
    "digest.more": (
        "Et {count} de plus : toutes les photos approuvées sont dans le canal de relecture."
    ),
    "digest.thanks": "Merci à",
    "digest.by_site": "Par site",
    "digest.milestone": "Cap franchi : {count} photos approuvées depuis le début du programme !",
    "digest.welcome": "Bienvenue à nos nouveaux ambassadeurs :",
    "digest.campaign": "Campagne en cours : {title} (jusqu’au {ends})",
    "digest.footer": (
        "Envoyez vos photos avec /submit. Suspendez les rappels avec /relais snooze 2w."
    ),
    # Reconnaissance : badges (bot/services/recognition.py) et leur liste dans le profil.
    "badge.first_approved": "Première photo approuvée",
    "badge.approved_10": "10 photos approuvées",
    "badge.approved_50": "50 photos approuvées",
    "badge.first_campaign": "Première campagne",
    "badge.three_sites": "Trois sites",
    "badge.dm.title": "Nouveau badge : {badge}",
    "badge.dm.first_approved": (
        "Votre première photo a été approuvée. Bienvenue parmi celles et ceux qui racontent "
        "notre histoire !"
    ),
    "badge.dm.approved_10": "Dix de vos photos ont été approuvées. Merci de continuer !",
    "badge.dm.approved_50": "Cinquante photos approuvées : vous êtes un pilier du programme.",
    "badge.dm.first_campaign": (
        "Votre première photo pour une campagne a été approuvée. Merci d’y participer !"
    ),
    "badge.dm.three_sites": (
        "Vos photos approuvées viennent maintenant de trois sites différents. "
        "Un vrai reporter itinérant !"
    ),
    "badge.dm.share_hint": (
        "Vous seul l’avez appris. Pour que vos badges soient annoncés dans le canal des "
        "ambassadeurs : /relais config me share_badges on"
    ),
    "badge.post": "Nouveau badge, {badge}, pour",
    "badge.post_text": "{name} a obtenu le badge {badge}",
    "field.badges": "Badges",
    "digest.preview_title": "Aperçu du prochain récapitulatif (visible par vous seul)",
    "digest.sent": "Récapitulatif publié dans {channel}.",
    "digest.already_sent": "Le récapitulatif de cette semaine a déjà été publié.",
    "digest.no_channel": (
        "Aucun canal de récapitulatif n’est défini. Un CM peut le définir avec "
        "/relais config digest_channel #canal."
    ),
    "digest.usage": (
        "Usage : /relais digest preview (ou preview <site> pour celui d’un site), ou "
        "/relais digest send (ou send <site>) pour le publier maintenant (CM)."
    ),
    "digest.site_sent": "Récapitulatif de {site} publié dans {channel}.",
    "digest.site_already_sent": (
        "Le récapitulatif de {site} a déjà été publié cette semaine, et rien n’y a été "
        "approuvé depuis."
    ),
    "digest.site_no_channel": (
        "{site} n’a pas de canal de récapitulatif. Un CM peut en définir un avec "
        "/relais config site_digest {site} #canal."
    ),
    "nudge.inactive": (
        "Bonjour {name} ! Votre dernière photo date un peu. Quelque chose à partager depuis "
        "votre site cette semaine ? /submit prend quelques secondes."
    ),
    "nudge.welcome": (
        "Bienvenue {name} ! Votre première photo est à un /submit près. Une idée : {idea}"
    ),
    "nudge.welcome_idea": (
        "un moment de la semaine de votre équipe, ou une réussite dont vous êtes fier."
    ),
    "nudge.snooze_hint": "Trop de rappels ? /relais snooze 2w les suspend.",
    "nudge.sla": {
        "one": (
            "{count} contribution attend une relecture depuis plus de {hours} heures ouvrées :"
        ),
        "other": (
            "{count} contributions attendent une relecture depuis plus de {hours} heures ouvrées :"
        ),
    },
    "nudge.sla_line": "n° {id} · {author} · depuis le {at}",
    "nudge.campaign_start": "Nouvelle campagne : {title} (jusqu’au {ends}). {brief}",
    "nudge.campaign_ending": (
        "Plus que 2 jours pour la campagne {title} (jusqu’au {ends}). Envoyez vos photos "
        "avec /submit !"
    ),
    "config.title": "Réglages",
    "config.usage": (
        "Modifiez-en un avec /relais config <clé> <valeur>, par ex. /relais config "
        "digest_schedule fri 16:00"
    ),
    "config.done": "Le réglage {key} vaut maintenant {value}.",
    "config.on": "activé",
    "config.off": "désactivé",
    "config.unknown_key": "Réglage « {key} » inconnu. Réglages : {keys}.",
    "config.bad_value": "« {value} » n’est pas une valeur valide pour {key}.",
    "config.bad_days": (
        "« {value} » n’est pas une liste de jours ouvrés. Écrivez-la comme « lun-ven », "
        "« dim-jeu » ou « lun,mar,jeu »."
    ),
    "config.bad_slot": (
        "« {value} » n’est pas un horaire hebdomadaire. Écrivez-le comme « fri 16:00 »."
    ),
    "config.bad_timezone": (
        "« {value} » n’est pas un fuseau horaire. Écrivez-le comme « Europe/Paris »."
    ),
    "config.bad_number": "{key} doit être un nombre entier de {low} à {high}.",
    # Récapitulatifs locaux (issue 15) : celui d'un site, dans son propre canal.
    "config.site_digest_usage": (
        "Le récapitulatif hebdomadaire d’un site : /relais config site_digest <site> "
        "#canal, ou /relais config site_digest <site> off pour l’arrêter."
    ),
    "config.site_digest_done": (
        "{site} a maintenant son propre récapitulatif dans {channel}, chaque semaine à "
        "l’heure du récapitulatif ({slot})."
    ),
    "config.site_digest_off": "{site} n’a plus de récapitulatif à lui.",
    "config.site_digest_none": "{site} n’avait pas de récapitulatif à lui.",
    "config.site_digest_unknown_channel": (
        "Relais ne connaît pas le canal Teams « {channel} ». Ajoutez Relais à son équipe, "
        "puis tapez « config site_digest {site} here » dans ce canal (en mentionnant Relais)."
    ),
    "config.site_digest_key": "site_digest {site}",
    "teams.site_digest_here_channel_only": (
        "Tapez « config site_digest <site> here » dans le canal où publier le récapitulatif "
        "du site (en mentionnant Relais)."
    ),
    "digest.site_title": "Cette semaine à {site} (du {start} au {end})",
    "site.digest_in": "récapitulatif dans {channel}",
    "snooze.never": "Les rappels sont coupés. Réactivez-les avec /relais snooze off.",
    "button.review": "Relire",
    # Action table (issue 9).
    "field.note": "Note pour les approbateurs (facultative)",
    "form.review.escalate.title": "Transmettre n° {id}",
    "error.own_submission": (
        "C’est votre propre contribution : une autre personne la relit. Un programme géré"
        " par une seule personne peut l’autoriser avec /relais config self_review on."
    ),
    "media.not_yours": (
        "ce fichier a été partagé par quelqu’un d’autre : seules vos propres photos peuvent"
        " être envoyées"
    ),
    # Acks through a database outage (issue 10).
    "outage.try_again": (
        "Relais n’arrive pas à joindre sa base de données pour le moment : rien n’a été fait."
        " Réessayez dans une minute, s’il vous plaît."
    ),
    "busy.try_again": (
        "Relais est très sollicité en ce moment : rien n’a été fait. Réessayez dans quelques"
        " secondes, s’il vous plaît."
    ),
    "busy.form_not_sent": (
        "Non envoyé : Relais est très sollicité en ce moment. Renvoyez ce formulaire dans"
        " quelques secondes."
    ),
    "outage.form_not_sent": (
        "Non envoyé : Relais n’arrive pas à joindre sa base de données pour le moment."
        " Renvoyez ce formulaire dans une minute."
    ),
    "outage.pending": (
        "Relais met du temps à joindre sa base de données : votre demande est toujours en"
        " cours et la réponse suivra ici."
    ),
    "outage.form_unconfirmed": (
        "Relais met du temps à joindre sa base de données et ne peut pas encore confirmer"
        " votre envoi. Renvoyez ce formulaire dans une minute : il ne sera pas envoyé deux"
        " fois."
    ),
    "outage.unconfirmed": (
        "Relais a perdu sa base de données en répondant : votre demande a peut-être été"
        " faite. Vérifiez dans une minute avant de réessayer."
    ),
    "slack.submission_not_recorded": (
        "Votre contribution n’a pas été enregistrée : vos photos sont bien arrivées, mais"
        " Relais n’a pas pu l’enregistrer."
    ),
    "slack.not_recorded_why": (
        "Le problème vient de chez nous, pas de vos photos. Renvoyez-la dans quelques"
        " minutes ; l’équipe en est informée par les journaux."
    ),
    # the CM's numbers (/relais stats, /relais export)
    "stats.title": "Les chiffres du programme",
    "stats.title_own": "Vos chiffres",
    "stats.title_site": "Chiffres de {site}",
    "stats.window": (
        "{weeks} dernières semaines, du {start} au {end} (semaines commençant le "
        "lundi, heure de {tz})"
    ),
    "stats.ambassadors": "Ambassadeurs",
    "stats.active": "Actifs ces 30 derniers jours",
    "stats.joined": "Arrivés ce mois-ci",
    "stats.per_week": "Contributions par semaine (envoyées / validées)",
    "stats.week_line": "Semaine du {week} : {submitted} / {approved}",
    "stats.approval_rate": "Taux de validation",
    "stats.rate_value": {
        "one": "{rate} ({approved} validées sur {count} décision)",
        "other": "{rate} ({approved} validées sur {count} décisions)",
    },
    "stats.decision_time": "Délai entre l’envoi et la décision",
    "stats.median_p90": {
        "one": "médiane {median}, 90e centile {p90} ({count} décision)",
        "other": "médiane {median}, 90e centile {p90} ({count} décisions)",
    },
    "stats.hours": "{hours} h",
    "stats.no_data": "aucune décision pour l’instant",
    "stats.escalations": "Escalades",
    "stats.escalations_value": {
        "one": "{count} escaladée, {pending} en attente d’un approbateur",
        "other": "{count} escaladées, {pending} en attente d’un approbateur",
    },
    "stats.no_escalation": "aucune",
    "stats.escalation_time": "Délai entre l’escalade et la décision",
    "stats.sites": "Participation par site",
    "stats.site_value": (
        "ambassadeurs : {ambassadors} · envois ce mois-ci : {month} "
        "(personnes : {people}) · envois sur 12 semaines : {window}"
    ),
    "stats.silent": "Sans contribution en {month} : {sites}",
    "stats.campaigns": "Campagnes",
    "stats.campaign_line": (
        "{title} (du {start} au {end}) : envois {submitted} · validés {approved} "
        "· participants {people}"
    ),
    "stats.chart.title": "Contributions par semaine",
    "stats.chart.submitted": "Envoyées",
    "stats.chart.approved": "Validées",
    "stats.chart.week_of": "Semaine du",
    "stats.chart.caption": (
        "{weeks} dernières semaines, semaines commençant le lundi (heure de {tz})."
    ),
    "stats.chart_follows": "Le graphique suit dans vos messages privés.",
    "export.figures": "Chiffres du programme (CSV)",
    "export.submissions": "Toutes les contributions (CSV)",
    "export.sent": "Votre export arrive dans vos messages privés : deux fichiers CSV.",
    "export.download": "Télécharger {filename}",
    # sites (CM)
    "site.none": "Aucun site pour l’instant. Ajoutez le premier avec /relais site add <nom>.",
    "site.list_title": {"one": "{count} site", "other": "{count} sites"},
    "site.members": {"one": "{count} membre", "other": "{count} membres"},
    "site.no_referent": "pas de référent",
    "site.submissions": {"one": "{count} contribution", "other": "{count} contributions"},
    "site.usage": (
        "/relais site list · site add <nom> · site rename <ancien nom> -> <nouveau nom> · "
        "site merge <site à fondre> -> <site à garder>"
    ),
    "site.usage_rename": "Écrivez-le ainsi : /relais site rename <ancien nom> -> <nouveau nom>",
    "site.usage_merge": "Écrivez-le ainsi : /relais site merge <site à fondre> -> <site à garder>",
    "site.added": (
        "Site {site} ajouté. Les ambassadeurs peuvent maintenant le choisir en adhérant ou en "
        "envoyant une photo."
    ),
    "site.renamed": "Le site {old} s’appelle maintenant {new}.",
    "site.merged": (
        "Site {old} fusionné dans {new} : {members} et {submissions} déplacés. Le journal"
        " d’audit garde la trace du changement."
    ),
    "site.exists": (
        "Il existe déjà un site nommé {site} (sans tenir compte des majuscules, accents et "
        "espaces)."
    ),
    "site.not_found": "Aucun site nommé {site}. Voyez /relais site list pour les noms.",
    "site.name_missing": "Donnez un nom au site, par ex. /relais site add Usine de Lyon",
    "site.merge_same": "{site} est deux fois le même site : nommez deux sites différents.",
    # roles (admin for cm and approver, CM for referents)
    "role.none": "Personne n’a encore de rôle au-delà d’ambassadeur.",
    "role.list_title": "Qui a quel rôle",
    "role.usage": (
        "/relais role list · role grant <personne> cm|approver|referent [site] · "
        "role revoke <personne> cm|approver|referent [site]"
    ),
    "role.of_site": " de {site}",
    "role.granted": (
        "{who} a maintenant le rôle {role}{where}. La personne en est informée par message direct."
    ),
    "role.revoked": (
        "{who} n’a plus le rôle {role}{where}. La personne en est informée par message direct."
    ),
    "role.grant_nothing": "{who} avait déjà le rôle {role}{where} : rien n’a changé.",
    "role.revoke_nothing": "{who} n’avait pas le rôle {role}{where} : rien n’a changé.",
    "role.unknown": (
        "{role} n’est pas un rôle que je peux attribuer : utilisez cm, approver ou referent."
    ),
    "role.site_missing": "Précisez le site : /relais role grant <personne> referent <site>",
    "role.dm.granted": "{by} vous a donné le rôle {role}{where} dans le programme ambassadeurs.",
    "role.dm.revoked": "{by} vous a retiré le rôle {role}{where} dans le programme ambassadeurs.",
    "role.dm.can.cm": (
        "Vous pouvez maintenant valider les contributions (les cartes du canal de validation), "
        "envoyer le récapitulatif, changer les réglages (/relais config), gérer les sites "
        "(/relais site) et nommer les référents de site (/relais role)."
    ),
    "role.dm.can.approver": (
        "Vous recevrez désormais les contributions sensibles qui vous sont transmises, pour "
        "les approuver ou les refuser."
    ),
    "role.dm.can.referent": (
        "Vous êtes maintenant le relais de ce site : vous recevez ses rappels et une ligne "
        "hebdomadaire sur son activité, et voyez dans /relais me ses contributions en attente. "
        "Quand l’équipe l’autorise, vous pouvez approuver ou demander des modifications sur "
        "ses contributions non sensibles."
    ),
    "error.admins_only": (
        "Seul un administrateur peut faire cela (nommer les community managers et les "
        "approbateurs)."
    ),
    # site referents
    "referent.week": "Cette semaine à {site} : {sent}, {approved}, {authors} ; {waiting}.",
    "referent.sent": {
        "one": "{count} contribution envoyée",
        "other": "{count} contributions envoyées",
    },
    "referent.approved": {"one": "{count} approuvée", "other": "{count} approuvées"},
    "referent.authors": {
        "one": "{count} ambassadeur a participé",
        "other": "{count} ambassadeurs ont participé",
    },
    "referent.waiting": {
        "one": "{count} en attente de validation",
        "other": "{count} en attente de validation",
    },
    # the charter
    "charter.title": "Charte des ambassadeurs, version {version}",
    "charter.accepted_count": {
        "one": "{count} ambassadeur sur {total} a accepté cette version",
        "other": "{count} ambassadeurs sur {total} ont accepté cette version",
    },
    "charter.accepted_version": "a accepté la version {version}",
    "charter.not_accepted": "pas encore acceptée",
    "charter.more": {"one": "et {count} autre", "other": "et {count} autres"},
    "charter.publish_hint": "Pour publier une nouvelle version : /relais charter publish",
    "charter.usage": (
        "/relais charter affiche la charte ; /relais charter publish la modifie (CM)."
    ),
    "charter.more_changes": {
        "one": "… et {count} autre ligne modifiée",
        "other": "… et {count} autres lignes modifiées",
    },
    "charter.no_change": "(seuls les espaces ont changé)",
    "charter.publish.title": "Publier la charte",
    "charter.publish.field": "Texte de la charte",
    "charter.publish.intro": (
        "Modifiez le texte, puis prévisualisez ce qui change ({max} caractères au plus). "
        "Chaque ambassadeur devra accepter la nouvelle version."
    ),
    "charter.publish.changes": "Ce qui change (+ ajouté, − retiré) :",
    "charter.publish.confirm": (
        "Publier cette version et demander à chaque ambassadeur de l’accepter"
    ),
    "charter.current_too_long": (
        "La charte actuelle fait {length} caractères et un formulaire en contient {max} : "
        "publiez-la plutôt avec RELAIS_CHARTER_FILE."
    ),
    "charter.too_long": (
        "La charte fait {length} caractères ; un formulaire en contient {max}. Raccourcissez-la,"
        " ou publiez-la avec RELAIS_CHARTER_FILE."
    ),
    "charter.unchanged": "C’est déjà le texte de la version {version} : modifiez-le d’abord.",
    "charter.published": (
        "Version {version} de la charte publiée. Chaque ambassadeur est invité à l’accepter "
        "par message direct, et de nouveau à son prochain /submit."
    ),
    "charter.changed": "{by} a publié la version {version} de la charte des ambassadeurs.",
    "charter.changed_hint": "Lisez-la et acceptez-la pour continuer à envoyer des photos.",
    "button.publish": "Publier",
    "button.preview": "Prévisualiser",
    "button.read_accept": "Lire et accepter",
    # campaigns (CM)
    "campaign.form_title": "Nouvelle campagne",
    "campaign.form_intro": (
        "Un thème qui donne aux ambassadeurs quelque chose à chercher. Les dates sont des "
        "jours dans le fuseau de l’espace de travail ; le dernier jour compte jusqu’à minuit."
    ),
    "campaign.field.title": "Titre",
    "campaign.field.brief": "Consignes",
    "campaign.field.brief_hint": "Quoi photographier, avec un exemple ou deux",
    "campaign.field.starts_on": "Date de début",
    "campaign.field.ends_on": "Date de fin",
    "campaign.field.sites": "Sites",
    "campaign.field.sites_hint": "Tous les sites si aucun n’est choisi",
    "campaign.field.hashtag": "Hashtag (facultatif)",
    "campaign.field.hashtag_hint": "par ex. ete2026",
    "button.create": "Créer",
    "campaign.all_sites": "tous les sites",
    "campaign.closed": "close",
    "campaign.dates": "du {start} au {end}",
    "campaign.none": "Aucune campagne pour l’instant. Lancez-en une avec /relais campaign new.",
    "campaign.list_title": {"one": "{count} campagne", "other": "{count} campagnes"},
    "campaign.usage": (
        "/relais campaign list · campaign new · campaign show <titre> · campaign close <titre>"
    ),
    "campaign.approved": {"one": "{count} photo", "other": "{count} photos"},
    "campaign.sites": {"one": "{count} site", "other": "{count} sites"},
    "campaign.counts": "{approved} approuvées, de {sites}",
    "campaign.approved_by": {"one": "{count} approuvée", "other": "{count} approuvées"},
    "campaign.result": "La campagne {title} est terminée : {counts}. Merci à {names} !",
    "campaign.result_empty": (
        "La campagne {title} est terminée. Rien n’a été approuvé cette fois-ci."
    ),
    "campaign.created": (
        "Campagne {title} créée, du {start} au {end}, pour {where}. Elle est annoncée dans le "
        "canal du récapitulatif à son début et proposée dans le formulaire photo."
    ),
    "campaign.closed_posted": (
        "Campagne {title} close ({counts}) ; le résultat est publié dans {channel}."
    ),
    "campaign.closed_no_channel": (
        "Campagne {title} close ({counts}). Aucun canal de récapitulatif n’est défini : rien "
        "n’a été publié."
    ),
    "campaign.title_missing": "Donnez un titre à la campagne.",
    "campaign.title_too_long": "Le titre est trop long ({max} caractères au plus).",
    "campaign.brief_too_long": "Les consignes sont trop longues ({max} caractères au plus).",
    "campaign.bad_hashtag": (
        "Un hashtag est un seul mot de {max} caractères au plus, par ex. ete2026."
    ),
    "campaign.bad_date": "{value} n’est pas une date. Choisissez un jour (AAAA-MM-JJ).",
    "campaign.end_missing": "Choisissez le dernier jour de la campagne.",
    "campaign.start_past": "La date de début est passée. Choisissez aujourd’hui ou plus tard.",
    "campaign.end_before_start": "La date de fin est avant la date de début.",
    "campaign.exists": "Une campagne nommée {title} est déjà ouverte. Choisissez un autre titre.",
    "campaign.not_found": "Aucune campagne nommée {title}. Voyez /relais campaign list.",
    "campaign.already_closed": "La campagne {title} est déjà close.",
    "error.campaign_over": (
        "La campagne {title} est terminée ou ne concerne pas votre site. Choisissez-en une autre."
    ),
    # personal preferences (/relais config me)
    "help.prefs": (
        "/relais config me — vos préférences : votre nom dans le classement, "
        "vos badges dans le canal"
    ),
    "me.prefs.title": "Vos préférences",
    "me.prefs.leaderboard": "Votre nom dans le classement",
    "me.prefs.share_badges": "Vos badges annoncés dans le canal",
    "me.prefs.leaderboard.on": "Votre nom apparaît de nouveau dans le classement.",
    "me.prefs.leaderboard.off": (
        "Votre nom n’apparaît plus dans le classement. "
        "Vos photos comptent toujours pour votre site."
    ),
    "me.prefs.share_badges.on": (
        "Vos prochains badges seront aussi annoncés dans le canal des ambassadeurs."
    ),
    "me.prefs.share_badges.off": "Vos badges ne seront annoncés qu’à vous, en message privé.",
    "me.prefs_usage": (
        "Pour en changer une : /relais config me leaderboard on|off "
        "ou /relais config me share_badges on|off."
    ),
    "me.prefs_unknown": "Préférence « {key} » inconnue. Préférences : {keys}.",
    "button.leaderboard_hide": "Retirer mon nom du classement",
    "button.leaderboard_show": "Afficher mon nom dans le classement",
    # personal data (/relais mydata)
    "help.mydata": "/relais mydata — tout ce que Relais conserve sur vous, en message privé",
    "mydata.title": "Tout ce que Relais conserve sur vous",
    "mydata.photos_follow": {
        "one": "Votre photo suit dans un fichier zip.",
        "other": "Vos {count} photos suivent dans un fichier zip.",
    },
    "mydata.no_photos": "Relais ne conserve aucune photo de vous.",
    "mydata.photos": "Vos photos ({count})",
    "mydata.forget": "Pour les faire effacer : /relais forget.",
    "mydata.sent": "Tout ce que Relais conserve sur vous arrive en message privé.",
    "mydata.sent_photos": {
        "one": "Tout ce que Relais conserve sur vous, et votre photo, arrivent en message privé.",
        "other": (
            "Tout ce que Relais conserve sur vous, et vos {count} photos, arrivent en message "
            "privé."
        ),
    },
    # forgetting (/relais forget)
    "help.forget": "/relais forget — effacer tout ce que Relais conserve sur vous",
    "forget.title": "M’oublier",
    "forget.what": (
        "Cela efface votre profil, vos rôles, vos acceptations de la charte, vos points, les "
        "messages que Relais vous a envoyés, et vos envois non approuvés avec leurs photos. "
        "C’est définitif."
    ),
    "forget.approved_kept": (
        "Vos envois approuvés restent dans le programme sans votre nom : ils seront "
        "présentés comme envoyés par une personne de votre site."
    ),
    "forget.approved_deleted": "Vos envois approuvés sont effacés aussi, avec leurs photos.",
    "forget.mydata_first": "Une copie d’abord ? /relais mydata vous envoie tout.",
    "button.forget": "M’oublier",
    "forget.not_yours": (
        "Ce bouton était destiné à quelqu’un d’autre. Tapez vous-même /relais forget."
    ),
    "forget.done_none": "C’est fait : Relais vous a oublié.",
    "forget.done": {
        "one": "C’est fait : Relais vous a oublié. Un envoi approuvé reste, sans votre nom.",
        "other": (
            "C’est fait : Relais vous a oublié. {count} envois approuvés restent, sans votre nom."
        ),
    },
    "person.forgotten": "une personne de l’équipe",
    "person.forgotten_site": "une personne de {site}",
    "card.removed": "L’envoi n° {id} a été effacé à la demande de son auteur.",
    # /privacy et /terms (relais/legal.py) : pages simples, un paragraphe par entrée
    "legal.language_link": "English version",
    "legal.privacy.title": "Relais : confidentialité",
    "legal.privacy.intro": (
        "Relais est le bot qui anime le programme ambassadeurs de votre entreprise dans "
        "Slack et Microsoft Teams. Cette page dit ce qu’il conserve sur vous, pourquoi, "
        "combien de temps, et comment l’obtenir ou le faire supprimer."
    ),
    "legal.privacy.stores.heading": "Ce que Relais conserve",
    "legal.privacy.stores.profile": (
        "Votre profil : votre identifiant Slack ou Teams, le nom affiché, la langue et le "
        "fuseau horaire fournis par la plateforme, votre site, et vos rôles dans le "
        "programme (ambassadeur, référent, community manager, approbateur)."
    ),
    "legal.privacy.stores.charter": (
        "Les versions de la charte que vous avez acceptées, et quand."
    ),
    "legal.privacy.stores.submissions": (
        "Ce que vous envoyez : légendes, photos, site et campagne, et les cases que vous "
        "cochez (accord des personnes photographiées, contenu sensible). La localisation, "
        "les détails de l’appareil et les autres métadonnées sont retirés de chaque photo à "
        "son arrivée : seule l’image est gardée."
    ),
    "legal.privacy.stores.reviews": (
        "La validation de chaque envoi : qui a décidé, quand, et le motif donné."
    ),
    "legal.privacy.stores.points": "Les points crédités pour vos envois approuvés.",
    "legal.privacy.stores.nudges": (
        "Les relances qui vous ont été envoyées et quand, et si vous les avez mises en pause."
    ),
    "legal.privacy.stores.audit": (
        "Un journal de ce qui a été fait (envois, décisions, changements de rôle et de "
        "site), pour que chaque décision puisse être expliquée."
    ),
    "legal.privacy.stores.not": (
        "Relais ne lit pas vos autres messages, ne sait pas où vous êtes, et ne partage rien "
        "en dehors de l’outil de discussion de votre entreprise."
    ),
    "legal.privacy.why.heading": "Pourquoi",
    "legal.privacy.why.body": (
        "Pour faire vivre le programme auquel vous participez volontairement, selon sa "
        "charte : montrer vos envois aux personnes qui les valident, mettre en avant ceux "
        "qui sont approuvés dans le récapitulatif de la semaine, remercier les "
        "contributeurs, envoyer quelques relances polies, et donner aux community managers "
        "les chiffres du programme."
    ),
    "legal.privacy.how_long.heading": "Combien de temps",
    "legal.privacy.how_long.rejected": {
        "one": (
            "Les photos d’un envoi refusé ou retiré sont supprimées {count} jour après la "
            "décision ou le retrait. La trace de l’envoi (légende, décision, journal) reste, "
            "pour que la décision puisse encore être expliquée."
        ),
        "other": (
            "Les photos d’un envoi refusé ou retiré sont supprimées {count} jours après la "
            "décision ou le retrait. La trace de l’envoi (légende, décision, journal) reste, "
            "pour que la décision puisse encore être expliquée."
        ),
    },
    "legal.privacy.how_long.replaced": {
        "one": (
            "Les photos que vous remplacez en renvoyant un envoi sont supprimées {count} jour "
            "après."
        ),
        "other": (
            "Les photos que vous remplacez en renvoyant un envoi sont supprimées {count} jours "
            "après."
        ),
    },
    "legal.privacy.how_long.approved": (
        "Les envois approuvés et leurs photos sont gardés tant que le programme existe : "
        "c’est ce que le programme partage."
    ),
    "legal.privacy.how_long.rest": (
        "Votre profil, vos points et le reste sont gardés tant que vous participez. Quitter "
        "le programme (/relais leave) arrête les envois et les relances ; cela ne supprime "
        "pas ce que vous avez envoyé avant."
    ),
    "legal.privacy.rights.heading": "Obtenir vos données, ou les faire supprimer",
    "legal.privacy.rights.body": (
        "Tapez /relais mydata : Relais vous envoie en message privé tout ce qu’il conserve "
        "sur vous dans un fichier, et vos photos dans un zip. Tapez /relais forget pour tout "
        "faire effacer : votre profil, vos rôles, vos points et vos envois non approuvés "
        "disparaissent aussitôt ; les envois approuvés sont gardés sans votre nom (« une "
        "personne de Lyon ») ou effacés, selon le choix de votre entreprise. Une personne "
        "partie de l’entreprise est oubliée par un administrateur. Les fichiers de photos "
        "devenus inutiles sont effacés par la tournée quotidienne de conservation sous huit "
        "jours."
    ),
    "legal.terms.title": "Relais : conditions d’utilisation",
    "legal.terms.intro": (
        "Relais est fourni par votre entreprise pour son programme ambassadeurs interne. "
        "Participer est volontaire."
    ),
    "legal.terms.charter": (
        "Rejoindre le programme, c’est accepter sa charte (/relais charter l’affiche) : ce "
        "que vous pouvez dire et partager, et le droit à l’image des personnes sur vos "
        "photos. N’envoyez que des photos dont les personnes ont accepté d’y figurer."
    ),
    "legal.terms.review": (
        "Un community manager valide chaque envoi avant qu’il soit partagé. Il peut "
        "l’approuver, le refuser, demander des modifications, ou le confier à un "
        "approbateur."
    ),
    "legal.terms.reuse": (
        "Les envois approuvés sont montrés dans le récapitulatif de la semaine du programme "
        "et peuvent être réutilisés par ses community managers."
    ),
    "legal.terms.leave": (
        "Vous pouvez quitter le programme à tout moment avec /relais leave, et retirer un "
        "envoi qui n’a pas encore été décidé."
    ),
    "legal.terms.privacy": "Ce que Relais conserve sur vous, et combien de temps :",
    "legal.terms.privacy_link": "confidentialité",
    # the content library (/relais library, GET /library/{token})
    "help.library": (
        "/relais library — la photothèque des envois approuvés, à parcourir et télécharger"
    ),
    "library.title": "Photothèque",
    "library.intro": (
        "Toutes les photos approuvées, avec leur légende et leur crédit, par site, campagne "
        "et semaine. Téléchargez les images nettoyées (sans lieu ni données de l’appareil)."
    ),
    "library.open": "Ouvrir la photothèque",
    "library.expires": {
        "one": "Le lien fonctionne {count} heure ; redemandez-en un ensuite.",
        "other": "Le lien fonctionne {count} heures ; redemandez-en un ensuite.",
    },
    "library.not_public": (
        "PUBLIC_URL n’est pas réglé : le lien ne marche que sur la machine qui fait tourner Relais."
    ),
    "library.page.heading": "Photos et actualités approuvées",
    "library.page.count": {
        "one": "{count} envoi approuvé",
        "other": "{count} envois approuvés",
    },
    "library.page.site": "Site",
    "library.page.campaign": "Campagne",
    "library.page.week": "Semaine",
    "library.page.any": "Tous",
    "library.page.week_of": "Semaine du {day}",
    "library.page.filter": "Afficher",
    "library.page.empty": "Aucune photo ni actualité approuvée ne correspond.",
    "library.page.credit": "Photo : {author}",
    "library.page.approved_on": "Approuvé le {day}",
    "library.page.video": "▶ Vidéo : ouvrez-la pour la lire",
    "library.page.download": "Original (interne)",
    "library.page.use": "Usage",
    "library.page.download_outside": "Pour l’extérieur",
    "library.page.download_outside_blur": "Pour l’extérieur (visages floutés si besoin)",
    "library.page.use_external": "Utilisable hors de l’entreprise",
    "library.page.use_internal": "Usage interne uniquement",
    "library.page.appears_nobody": "Personne de reconnaissable sur la photo",
    "library.page.appears_colleagues": {
        "one": "{agreed} collègue nommé sur {count} a donné son accord",
        "other": "{agreed} collègues nommés sur {count} ont donné leur accord",
    },
    "library.page.appears_outside": "Personnes extérieures : accord écrit détenu",
    "library.page.appears_unknown": "Envoyé avant que Relais ne demande qui apparaît",
    "library.page.newer": "Plus récentes",
    "library.page.older": "Plus anciennes",
    "library.page.valid_until": "Le lien de cette page fonctionne jusqu’au {at}.",
    "library.page.invalid": (
        "Ce lien de photothèque n’est pas valide. Demandez-en un nouveau à Relais : "
        "/relais library."
    ),
    "library.page.expired": (
        "Ce lien de photothèque a expiré. Demandez-en un nouveau à Relais : /relais library."
    ),
    # field news (a title and a text, no photo)
    "appears.news": "Personne (actualité sans photo)",
    "card.news.title": "Actualité terrain n° {id}",
    "card.link": "Lien : {url}",
    "button.open_link": "Ouvrir le lien",
    "dm.outcome.title": "Titre : {title}",
    "field.title": "Titre (obligatoire pour une actualité sans photo)",
    "field.caption_or_text": "Légende (ou le texte de votre actualité)",
    "field.link": "Lien (facultatif, http ou https)",
    "form.submit.title_hint": "Un titre court",
    "form.submit.intro": (
        "Envoyez des photos, ou une actualité du terrain sans photo : un titre et un "
        "texte (et un lien si vous en avez un)."
    ),
    "error.news_title_required": (
        "Une actualité sans photo a besoin d’un titre (ou ajoutez une photo)."
    ),
    "error.news_text_required": (
        "Une actualité sans photo a besoin d’un texte (ou ajoutez une photo)."
    ),
    "error.title_too_long": (
        "Votre titre compte {length} caractères, pour un maximum de {max}. Merci de le raccourcir."
    ),
    "error.bad_link": (
        "Le lien doit être une adresse web commençant par http:// ou https://, "
        "de {max} caractères au plus."
    ),
    "digest.news": "Actualité : {title}",
    "library.page.news": "Actualité terrain",
    "library.page.credit_news": "Par {author}",
    "library.page.appears_news": "Actualité sans photo : personne n’apparaît",
}
