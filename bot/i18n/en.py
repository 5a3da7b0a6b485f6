"""English messages: ``str.format`` templates with named placeholders, plain text only.

Keys and placeholders must match ``fr.py`` exactly. Adapters escape the text, so no markup.
An entry that depends on ``count`` is a dict of CLDR plural forms (``one``, ``other``).
"""

MESSAGES: dict[str, str | dict[str, str]] = {
    # common
    "common.yes": "Yes",
    "common.no": "No",
    "common.none": "None",
    "date.day_at_time": "{day} at {time}",
    # buttons
    "button.approve": "Approve",
    "button.reject": "Reject",
    "button.request_changes": "Request changes",
    "button.escalate": "Escalate",
    "button.withdraw": "Withdraw",
    "button.resubmit": "Edit and resend",
    "button.accept": "I accept",
    "button.send": "Send",
    "button.confirm": "Confirm",
    # fields
    "field.author": "Sent by",
    "field.site": "Site",
    "field.campaign": "Campaign",
    "field.sensitive": "Sensitive",
    "field.status": "Status",
    "field.photos": "Photos",
    "field.caption": "Caption",
    "field.people_consented_question": "Everyone recognisable in these photos agreed to appear",
    # consent of the people in a photo (issue 13)
    "field.appears": "Who appears",
    "field.appears_question": "Who appears in these photos?",
    "field.people": "Colleagues in the photos (each will be asked)",
    "field.outside_agreement": (
        "People outside the company appear: I hold their written agreement"
    ),
    "appears.nobody": "Nobody recognisable",
    "appears.colleagues": "Colleagues",
    "appears.outside": "People outside the company",
    "appears.outside_declared": "People outside the company (written agreement declared)",
    "appears.unknown": "Not asked",
    "consent.state.pending": "waiting",
    "consent.state.agreed": "agreed",
    "consent.state.declined": "declined",
    "consent.state.withdrawn": "withdrew",
    "card.review.consent_hint": (
        "Not everyone in the photos agreed yet: it can be approved for use inside the company only."
    ),
    "card.internal_only": "Approved for use inside the company only.",
    "card.consent_warning": (
        "Approved for use outside the company while not everyone in the photos agreed."
    ),
    "card.consent_withdrawn": (
        "Consent withdrawn: no longer in digests, the library or external use."
    ),
    "button.approve_internal": "Approve (internal only)",
    "button.consent_agree": "I agree",
    "button.consent_decline": "I decline",
    "button.consent_withdraw": "Withdraw",
    "digest.internal_only": "internal use only",
    "consent.request": (
        "{author} sent a photo you appear in (submission #{id}). Do you agree to it being "
        "used by the communication team?"
    ),
    "consent.request_hint": (
        "Only you can answer. You can change your mind later with /relais consent."
    ),
    "consent.reminder": (
        "A gentle reminder: {author} sent a photo you appear in and is waiting for your "
        "answer. No answer means it will not be used outside the company."
    ),
    "consent.agreed": "Thank you: you agreed to appear in submission #{id}.",
    "consent.declined": (
        "Noted: you declined to appear in submission #{id}. It will not be used outside "
        "the company."
    ),
    "consent.withdrawn": (
        "Your consent for submission #{id} is withdrawn: it leaves future digests, the "
        "library and exports. The communication team has been told."
    ),
    "consent.list_title": "Photos you appear in",
    "consent.list_empty": (
        "You appear in no photo sent to Relais, and have none of your own in use."
    ),
    "consent.list_line": "#{id} by {author} — {caption} — your answer: {state}",
    "consent.list_own": "#{id} (your photo, cleared for use outside the company) — {caption}",
    "consent.no_caption": "no caption",
    "consent.cms_withdrawn": (
        "{name} withdrew their consent for submission #{id} by {author}: it is out of "
        "future digests, the library and exports."
    ),
    "consent.cms_withdrawn_author": (
        "{author} withdrew their photo #{id} from use outside the company: it is out of "
        "future digests, the library and exports."
    ),
    "console.people": "{label} (names separated by commas; Enter for none)",
    "help.consent": "/relais consent — the photos you appear in, with your answer and Withdraw",
    "error.appears_required": (
        "Say who appears in the photos: nobody, colleagues, or people outside the company."
    ),
    "error.people_required": "Pick the colleagues who appear in the photos (other than you).",
    "error.too_many_people": "At most {max} colleagues per submission.",
    "error.unknown_people": "Not found in this workspace: {names}.",
    "error.outside_agreement_required": (
        "Tick the box to confirm you hold the written agreement of the people outside the "
        "company, or choose another answer."
    ),
    "error.consent_not_found": "This consent request no longer exists.",
    "error.not_named": "Only the person named in this request can answer it.",
    "error.consent_withdrawn_already": (
        "You already withdrew your consent for this photo; it stays withdrawn."
    ),
    "error.consent_incomplete": (
        "Not approved: {names} did not agree to appear. Approve it for use inside the "
        "company only, or wait for their answer."
    ),
    "field.sensitive_question": "Sensitive content: an approver must check it",
    "field.reason": "Reason (the author will read it)",
    "field.changes": "What should be changed? (the author will read it)",
    "field.roles": "Roles",
    "field.points": "Points",
    "field.charter": "Charter",
    # statuses
    "status.pending": "Pending review",
    "status.approved": "Approved",
    "status.rejected": "Rejected",
    "status.changes_requested": "Changes requested",
    "status.escalated": "Escalated to an approver",
    "status.withdrawn": "Withdrawn",
    # roles
    "role.member": "Member",
    "role.ambassador": "Ambassador",
    "role.referent": "Site referent",
    "role.cm": "Community manager",
    "role.approver": "Approver",
    "role.admin": "Admin",
    # review card
    "card.photo_alt": "Photo {n} sent by {author}",
    "card.video_alt": "Video {n} sent by {author} (poster frame)",
    "card.video_play": "▶ Play video {n}",
    "card.submitted_at": "Sent on {at} · version {revision}",
    "card.review.title": "Submission #{id}",
    "card.review.text": "Submission #{id} from {author}",
    "card.review.sensitive_hint": (
        "Marked sensitive: only an approver can approve it. "
        "You can still reject it, request changes or escalate it."
    ),
    "card.review.escalated": "Escalated by {by}, waiting for an approver.",
    "card.decision.pending": "Pending review",
    "card.decision.approved": "Approved by {by} on {at}",
    "card.decision.rejected": "Rejected by {by} on {at}",
    "card.decision.changes_requested": "Changes requested by {by} on {at}",
    "card.decision.escalated": "Escalated to an approver by {by} on {at}",
    "card.decision.withdrawn": "Withdrawn before a decision (sent on {at})",
    "card.decision.reason": "Reviewer's note: {reason}",
    "card.superseded": (
        "This card is out of date: the author sent a new version of #{id}. "
        "Please review the new card."
    ),
    # direct messages
    "dm.receipt": "Thanks! Your submission #{id} arrived and is waiting for review.",
    "dm.receipt_hint": (
        "You'll get a message once it's reviewed. Changed your mind? "
        "You can withdraw it until a decision is made."
    ),
    "dm.outcome.pending": "Your submission #{id} is back in the review queue.",
    "dm.outcome.approved": "Good news: your submission #{id} was approved by {by}. Thank you!",
    "dm.outcome.rejected": (
        "Your submission #{id} was not accepted by {by}. "
        "Thank you for taking part all the same: the note below explains why."
    ),
    "dm.outcome.changes_requested": (
        "{by} asked for changes to your submission #{id}. "
        "Read the note below, then use Edit and resend."
    ),
    "dm.outcome.escalated": (
        "Your submission #{id} was passed to an approver by {by} for a second look."
    ),
    "dm.outcome.withdrawn": "Your submission #{id} was withdrawn. It won't be reviewed.",
    "dm.outcome.caption": "Caption: {caption}",
    "dm.outcome.points": "Points earned: +{points}",
    "dm.escalated_to_you": (
        "{by} passed submission #{id} to you for a decision, as it may be sensitive. "
        "Please approve or reject it below."
    ),
    # forms
    # recognition: /relais leaderboard and the Thank button
    "help.leaderboard": (
        "/relais leaderboard [month|all] [site] — who brought the most points this month "
        "(or ever), for everyone or one site"
    ),
    "leaderboard.title": "Leaderboard — {period}",
    "leaderboard.title_site": "Leaderboard — {site}, {period}",
    "leaderboard.all_time": "all time",
    "leaderboard.line": {
        "one": "{rank}. {name} — {count} point",
        "other": "{rank}. {name} — {count} points",
    },
    "leaderboard.line_you": {
        "one": "{rank}. {name} (you) — {count} point",
        "other": "{rank}. {name} (you) — {count} points",
    },
    "leaderboard.others": {
        "one": "…and {count} other person (points: {points})",
        "other": "…and {count} other people (points: {points})",
    },
    "leaderboard.totals": {
        "one": "{count} person contributed — points: {points}, approved photos: {photos}",
        "other": "{count} people contributed — points: {points}, approved photos: {photos}",
    },
    "leaderboard.counts_only": (
        "Fewer than {min} people would be named here, so only the totals are shown."
    ),
    "leaderboard.own_points": {
        "one": "You: {count} point",
        "other": "You: {count} points",
    },
    "leaderboard.only_you": (
        "(only you see this line: your name is hidden from the others; "
        "/relais config me leaderboard on shows it)"
    ),
    "leaderboard.empty": "No points yet for this period.",
    "leaderboard.usage": (
        "/relais leaderboard [month|all] [site] · /relais config me leaderboard off "
        "keeps your name off it (you still count)"
    ),
    "button.thank": "Thank",
    "form.review.thank.title": "Thank the author of #{id}",
    "field.thanks_note": "Your note (sent to the author once)",
    "thanks.default_note": "Thank you for this photo!",
    "thanks.dm": "{by} thanks you for your submission #{id}!",
    "thanks.dm_note": "Their note: {note}",
    "thanks.sent": "Your thanks were sent to {author} (#{id}).",
    "card.thanked": "Thanked by {by} on {at}",
    "error.already_thanked": (
        "The author of #{id} was already thanked by {by} on {at}. They get one message only."
    ),
    "error.thank_not_approved": "Only an approved submission can be thanked (#{id} is not).",
    "form.join.title": "Ambassador charter",
    "form.join.intro": (
        "Charter version {version}. Please read it: by accepting, you become an ambassador."
    ),
    "form.submit.title": "Send photos or news",
    "form.submit.caption_hint": "What's happening? Who, where, and why it's worth sharing.",
    "form.review.reject.title": "Reject #{id}",
    "form.review.changes.title": "Changes for #{id}",
    # help
    "help.title": "Relais: what you can do",
    "help.intro": "Relais brings your photos from the field to the communication team.",
    "help.submit": "/submit [caption] — send photos from the field, or news without a photo",
    "help.join": "/relais join — read and accept the charter to become an ambassador",
    "help.me": "/relais me — your profile, points and submissions",
    "help.snooze": (
        "/relais snooze 2w — pause reminders (never: for good); /relais snooze off to resume"
    ),
    "help.leave": "/relais leave — leave the ambassador programme",
    "help.help": "/relais help — show this message",
    "help.cm": (
        "Community managers: submissions arrive as cards in the review channel. "
        "Use their buttons to approve, reject, request changes or escalate to an approver. "
        "/relais digest preview (or send) for the weekly digest; /relais config for settings; "
        "/relais site for the list of sites; /relais role to name site referents (admins: "
        "community managers and approvers); /relais charter publish for a new charter; "
        "/relais campaign new for a themed campaign."
    ),
    "help.referent": (
        "Site referents: /relais me lists your site's submissions waiting for review; when "
        "the team allows it, approve or ask for changes with the Review buttons of the daily "
        "reminder."
    ),
    "help.stats": (
        "/relais stats — your numbers over 12 weeks (the whole programme for CMs), with a chart"
    ),
    "help.export": (
        "/relais export — the numbers and every submission as CSV files, by direct message (CMs)"
    ),
    "help.unknown": "I don't know '{word}'. Try /relais help.",
    # joining and leaving
    "join.needed_first": "To send photos, first read and accept the ambassador charter.",
    "join.new_version": (
        "The charter has changed. Please read and accept the new version to keep sending photos."
    ),
    "join.already": (
        "You're already an ambassador (charter version {version} accepted). "
        "Send photos with /submit."
    ),
    "join.done": (
        "Thanks! You accepted charter version {version}. You can now send photos with /submit."
    ),
    "leave.done": (
        "You have left the ambassador programme. Thank you for everything you shared! "
        "You can come back anytime with /relais join."
    ),
    "leave.not_member": (
        "You're not an ambassador, so there is nothing to leave. "
        "You can join anytime with /relais join."
    ),
    # profile
    "me.title": "Profile: {name}",
    "me.charter_ok": "Version {version} accepted",
    "me.charter_todo": "Version {version} to accept: /relais join",
    "me.snoozed": "Reminders paused until {until}. Turn them back on with /relais snooze off.",
    "me.recent": "Your recent submissions",
    "me.line": "#{id} · {status} · {caption}",
    "me.none_yet": "No submissions yet. Send your first photos with /submit.",
    "me.awaiting": "Waiting for review ({count})",
    "me.waiting_line": "#{id} · sent on {at} · {caption}",
    # reminders
    "snooze.on": (
        "Reminders paused until {until}. Turn them back on anytime with /relais snooze off."
    ),
    "snooze.off": "Reminders are back on.",
    "snooze.usage": (
        "Say how long, for example /relais snooze 2w (2 weeks) or /relais snooze 10d "
        "(10 days), up to 12 weeks. /relais snooze off turns reminders back on."
    ),
    # submissions and reviews
    "submission.created": "Thanks! Submission #{id} is sent for review.",
    "submission.resubmitted": "Thanks! Your updated submission #{id} is back in the review queue.",
    "submission.withdrawn": "Submission #{id} withdrawn. It won't be reviewed or published.",
    "review.done.approved": (
        "Submission #{id} from {author} approved. The author has been notified."
    ),
    "review.done.rejected": "Submission #{id} from {author} rejected. They'll see your reason.",
    "review.done.changes_requested": (
        "Changes requested on submission #{id} from {author}. They can edit and resend it."
    ),
    "review.done.escalated": "Submission #{id} from {author} passed to the approvers.",
    # the console's own words
    "console.welcome": (
        "Relais console: the whole flow without a chat platform. /help for commands."
    ),
    "console.help": (
        "Commands:\n"
        "  /as NAME            act as NAME (created on first use); CMs: {cms}; "
        "approvers: {approvers}\n"
        "  /submit [caption]   send photos (you will be asked for file paths)\n"
        "  /relais help|join|leave|me|snooze ...\n"
        "  N                   press button number N (as the current user)\n"
        "  /inbox              the current user's direct messages\n"
        "  /quit               leave (Ctrl-D works too)\n"
        "In a form, Enter keeps the value in brackets; /cancel or Ctrl-D cancels the form."
    ),
    "console.bye": "Bye.",
    "console.you_are": "You are now {name} ({roles}).",
    "console.unknown": "Unknown input. /help lists the commands.",
    "console.no_button": "There is no button [{number}].",
    "console.inbox_empty": "(empty)",
    "console.dm_to": "DM to {name}",
    "console.updated": "message {id} updated",
    "console.cancelled": "Cancelled: nothing was sent.",
    "console.confirm": "{label}? [Y/n]",
    "console.checkbox": "{label} [y/N]",
    "console.prompt": "{text}: ",
    "console.checkbox_on": "{label} [Y/n]",
    "console.photos": "{label} (file paths, up to {max})",
    "console.choice": "Choice (Enter for the default, or none)",
    "console.choices": "Numbers or names separated by commas (Enter for the default)",
    "console.default": "(default)",
    "console.no_match": "Nothing in the list matches '{typed}'. Type a number or part of a name.",
    "console.several": "Several match '{typed}'; type the number:",
    "console.no_such_file": "{name}: no such file",
    "console.field_error": "{label}: {error}",
    "console.ask_again": "Your other answers are kept. Answer again:",
    # default charter
    "charter.default": (
        "- Taking part is voluntary: you can leave at any time with /relais leave.\n"
        "- Share public-facing moments of site life: events, teams at work, projects, "
        "successes.\n"
        "- Never share confidential information: no customer data, and no screens, "
        "documents, whiteboards or badges in the picture.\n"
        "- Everyone recognisable in a photo must have agreed to appear in it.\n"
        "- No children or minors without the consent of a parent or guardian.\n"
        "- Respect people's privacy: no photos taken without people knowing, "
        "no private places.\n"
        "- Follow safety rules: no photos in restricted areas, while driving "
        "or while working a machine.\n"
        "- Only send photos you took yourself or have the right to share.\n"
        '- In doubt? Tick "Sensitive content" or ask the community manager before sending.\n'
        "- The communication team may crop or edit your content before publishing it, "
        "or choose not to publish it.\n"
        "- Your data (profile, submissions) can be exported or deleted on request."
    ),
    # errors
    "error.generic": "Sorry, something went wrong on our side. Please try again in a moment.",
    "error.invalid_input": "Something in this form isn't right. Please check it and try again.",
    "error.not_allowed": (
        "You don't have the role needed for this. "
        "If you think you should, ask your community manager."
    ),
    "error.not_found": "We couldn't find that. It may have been deleted.",
    "error.not_ambassador": (
        "Only ambassadors can do this. Run /relais join to read and accept the charter."
    ),
    "error.charter_outdated": (
        "The charter changed (version {version}). "
        "Please read and accept it with /relais join before submitting."
    ),
    "error.charter_changed": (
        "The charter was updated to version {version} while you were reading it. "
        "Please open it again with /relais join and accept the new version."
    ),
    "error.already_decided": (
        'Already handled: {by} set this to "{status}" on {at}. Nothing changed.'
    ),
    "error.invalid_transition": (
        'Not possible right now: this submission is "{status}". Nothing changed.'
    ),
    "error.duplicate_photo": (
        "You already sent this photo or video in submission #{id}. Remove it and try again."
    ),
    "error.no_photo": "Please add at least one photo.",
    "error.too_many_photos": (
        "Too many photos: {max} at most per submission. Send the others with another /submit."
    ),
    "error.caption_too_long": (
        "Your caption is {length} characters long; the limit is {max}. Please shorten it."
    ),
    "error.reason_required": "Please write a reason: the author will read it.",
    "error.reason_too_long": "This text is too long ({max} characters max). Please shorten it.",
    "error.reviewers_only": "Only reviewers (community managers and approvers) can do this.",
    "error.sensitive_needs_approver": (
        "Only an approver can decide on a sensitive or escalated submission. "
        "If it's still pending, use Escalate to pass it to one."
    ),
    "error.no_approver": (
        "No approver has been named yet, so this can't be escalated. "
        "An admin can name one with RELAIS_APPROVERS."
    ),
    "error.not_author": "Only the person who sent this submission can do that.",
    "error.submission_not_found": (
        "Submission #{id} doesn't exist. Check the number and try again."
    ),
    "error.unknown_action": (
        "This button or form is no longer recognised ({action}). "
        "Run the command again, or see /relais help."
    ),
    "error.member_not_found": "No member found for {who}. Check who you meant and try again.",
    "error.unknown_site": "This site is no longer in the list. Please pick another one.",
    "error.unknown_campaign": (
        "This campaign is no longer available. Pick another one or leave it empty."
    ),
    "error.site_too_long": ("The site name is too long ({max} characters max). Please shorten it."),
    "error.charter_empty": "The charter text is empty. Paste the charter and publish it again.",
    "error.no_charter": (
        "No charter has been published yet, so nobody can join. Please ask your community manager."
    ),
    # photo intake
    "media.too_large": (
        "This file is larger than {limit_mb} MB. "
        "Send a smaller photo or a shorter video (most phones can share a reduced size)."
    ),
    "media.unsupported_type": (
        "This file is not a photo or video we can use. Accepted: {accepted}."
    ),
    "media.too_long": ("This video is longer than {limit_s} seconds. Please send a shorter clip."),
    "media.too_many_pixels": (
        "This photo has too many pixels (limit: {limit_mp} megapixels). Send a smaller version."
    ),
    "media.corrupt": (
        "This photo can't be read: the file looks damaged or incomplete. Please send it again."
    ),
    "media.empty": "This file is empty. Please send the photo again.",
    "media.download_failed": "We couldn't fetch your photo. Please try again in a moment.",
    "error.stale_card": (
        "This card shows an older version of submission #{id}: "
        "it was changed and resubmitted since (now version {revision}). "
        "Please review the newest card."
    ),
    "button.join": "Join the programme",
    "button.snooze": "Pause reminders 2 weeks",
    "button.snooze_off": "Resume reminders",
    "button.leave": "Leave the programme",
    "button.cancel": "Cancel",
    "button.close": "Close",
    "home.hint": (
        "Send photos with /submit from any channel, or drop them here in the Messages tab. "
        "/relais help lists everything you can do."
    ),
    "media.login_page": (
        "Slack did not let Relais download this file (it sent a sign-in page instead). "
        "The app is probably missing the files:read permission: please tell your Slack admin."
    ),
    "slack.received": (
        "Thanks! Your photos are on their way. You'll get a message as soon as they are "
        "received (usually a few seconds)."
    ),
    "photos.file_refused": "{name}: {reason}",
    "photos.refused": (
        "Your submission was not recorded: some files could not be used. "
        "Nothing was sent to the reviewers. Please try again without them."
    ),
    "slack.photos_not_received": (
        "Your submission was not recorded: Relais could not fetch your photos or videos from Slack."
    ),
    "slack.form_failed": ("Slack did not open the form in time. Please run the command again."),
    "slack.dropped.prompt": {
        "one": "Send this photo or video to the communication team?",
        "other": "Send these {count} photos or videos to the communication team?",
    },
    "slack.dropped.button": "Submit this",
    "slack.dropped.attached": {
        "one": "{count} photo or video from your message will be sent.",
        "other": "{count} photos or videos from your message will be sent.",
    },
    "outbox.card_stuck": (
        "The review card of submission #{id} has not reached the reviewers yet: "
        "{tries} tries failed (last: {error}). Relais keeps trying for {hours} hours; "
        "'relais doctor' lists every message that is stuck."
    ),
    "photos.ignored": "Not photos or videos, left aside: {names}. Accepted: {accepted}.",
    "photos.not_images": (
        "These files are not photos or videos Relais can use: {names}. Accepted: {accepted}."
    ),
    "slack.dm_hint": (
        "Hi! Drop photos here to send them to the communication team, or type /submit. "
        "/relais help lists everything you can do."
    ),
    "teams.send_photos": (
        "Send your photos to Relais in this chat, then fill in this form. "
        "For news without a photo, fill in a title and a text and send."
    ),
    "teams.photos_attached": {
        "one": "{count} photo or video received.",
        "other": "{count} photos or videos received.",
    },
    "teams.photos_not_received": (
        "Your submission was not recorded: Relais could not fetch your photos or videos from Teams."
    ),
    "teams.draft_missing": (
        "These photos are no longer available. Please send them to Relais again."
    ),
    "teams.review_here_done": "Review cards will be posted in this channel from now on.",
    "teams.review_here_channel_only": (
        "Type 'review here' in the channel where review cards should go (mention Relais)."
    ),
    "teams.help_words": (
        "In this chat, type: help, join, me, stats, leaderboard, snooze 2w, snooze off, leave, "
        "or submit (or just send photos); consent for the photos you appear in, config me "
        "for your preferences, mydata for a copy of your data, forget to have it deleted. "
        "Community managers also: digest, config, export, library, charter, site, role, "
        "campaign."
    ),
    "teams.html_copy": "the formatted (HTML) copy of your message",
    "digest.title": "This week in the ambassador programme ({start} to {end})",
    "digest.empty": (
        "No photos were approved this week. Seen something worth telling at your site? "
        "Send it in seconds with /submit."
    ),
    "digest.approved": {
        "one": "{count} photo approved this week. Thank you!",
        "other": "{count} photos approved this week. Thank you!",
    },
    "digest.more": "And {count} more: every approved photo is in the review channel.",
    "digest.thanks": "Thanks to",
    "digest.by_site": "By site",
    "digest.milestone": "Milestone: {count} photos approved since the programme started!",
    "digest.welcome": "Welcome to our new ambassadors:",
    "digest.campaign": "Current campaign: {title} (until {ends})",
    "digest.footer": "Send your photos with /submit. Pause reminders with /relais snooze 2w.",
    # Recognition: badges (bot/services/recognition.py) and the profile's list of them.
    "badge.first_approved": "First approved photo",
    "badge.approved_10": "10 approved photos",
    "badge.approved_50": "50 approved photos",
    "badge.first_campaign": "First campaign",
    "badge.three_sites": "Three sites",
    "badge.dm.title": "New badge: {badge}",
    "badge.dm.first_approved": (
        "Your first photo was approved. Welcome among the people who tell our story!"
    ),
    "badge.dm.approved_10": "Ten of your photos have been approved. Thank you for keeping at it!",
    "badge.dm.approved_50": "Fifty approved photos: you are a pillar of the programme.",
    "badge.dm.first_campaign": (
        "Your first photo for a campaign was approved. Thanks for joining in!"
    ),
    "badge.dm.three_sites": (
        "Your approved photos now come from three different sites. A true roving reporter!"
    ),
    "badge.dm.share_hint": (
        "Only you were told. To have your badges announced in the ambassadors' channel: "
        "/relais config me share_badges on"
    ),
    "badge.post": "New badge, {badge}, for",
    "badge.post_text": "{name} earned the badge {badge}",
    "field.badges": "Badges",
    "digest.preview_title": "Preview of the next digest (only you can see this)",
    "digest.sent": "Digest posted in {channel}.",
    "digest.already_sent": "This week's digest was already posted.",
    "digest.no_channel": (
        "No digest channel is set. A CM can set one with /relais config digest_channel #channel."
    ),
    "digest.usage": (
        "Usage: /relais digest preview (or preview <site> for a site's own), or "
        "/relais digest send (or send <site>) to post it now (CMs)."
    ),
    "digest.site_sent": "{site}'s digest posted in {channel}.",
    "digest.site_already_sent": (
        "{site}'s digest was already posted this week and nothing was approved there since."
    ),
    "digest.site_no_channel": (
        "{site} has no digest channel. A CM can set one with "
        "/relais config site_digest {site} #channel."
    ),
    "nudge.inactive": (
        "Hi {name}! It's been a while since your last photo. Anything worth sharing from "
        "your site this week? /submit takes a few seconds."
    ),
    "nudge.welcome": (
        "Welcome aboard, {name}! Your first photo is one /submit away. An idea: {idea}"
    ),
    "nudge.welcome_idea": "a moment from your team's week, or something you are proud of.",
    "nudge.snooze_hint": "Too many reminders? /relais snooze 2w pauses them.",
    "nudge.sla": {
        "one": "{count} submission is waiting for review for more than {hours} working hours:",
        "other": (
            "{count} submissions are waiting for review for more than {hours} working hours:"
        ),
    },
    "nudge.sla_line": "#{id} · {author} · since {at}",
    "nudge.campaign_start": "New campaign: {title} (until {ends}). {brief}",
    "nudge.campaign_ending": (
        "2 days left for the campaign {title} (until {ends}). Send your photos with /submit!"
    ),
    "config.title": "Settings",
    "config.usage": (
        "Change one with /relais config <key> <value>, e.g. /relais config "
        "digest_schedule fri 16:00"
    ),
    "config.done": "Setting {key} is now {value}.",
    "config.on": "on",
    "config.off": "off",
    "config.unknown_key": "Unknown setting '{key}'. Settings: {keys}.",
    "config.bad_value": "'{value}' is not a valid value for {key}.",
    "config.bad_days": (
        "'{value}' is not a set of working days. Write it like 'mon-fri', 'sun-thu' or "
        "'mon,tue,thu'."
    ),
    "config.bad_slot": "'{value}' is not a weekly time. Write it like 'fri 16:00'.",
    "config.bad_timezone": "'{value}' is not a timezone. Write it like 'Europe/Paris'.",
    "config.bad_number": "{key} must be a whole number from {low} to {high}.",
    # Local digests (issue 15): a site's own weekly digest in its own channel.
    "config.site_digest_usage": (
        "A site's own weekly digest: /relais config site_digest <site> #channel, or "
        "/relais config site_digest <site> off to stop it."
    ),
    "config.site_digest_done": (
        "{site} now has its own digest in {channel}, every week at the digest's time ({slot})."
    ),
    "config.site_digest_off": "{site} no longer has its own digest.",
    "config.site_digest_none": "{site} had no digest of its own.",
    "config.site_digest_unknown_channel": (
        "Relais does not know the Teams channel '{channel}'. Add Relais to its team, then "
        "type 'config site_digest {site} here' in that channel (mention Relais)."
    ),
    "config.site_digest_key": "site_digest {site}",
    "teams.site_digest_here_channel_only": (
        "Type 'config site_digest <site> here' in the channel where the site's digest "
        "should go (mention Relais)."
    ),
    "digest.site_title": "This week at {site} ({start} to {end})",
    "site.digest_in": "digest in {channel}",
    "snooze.never": "Reminders are off for good. Turn them back on with /relais snooze off.",
    "button.review": "Review",
    # Action table (issue 9).
    "field.note": "Note for the approvers (optional)",
    "form.review.escalate.title": "Escalate #{id}",
    "error.own_submission": (
        "This is your own submission: another reviewer decides it. A one-person programme"
        " can allow it with /relais config self_review on."
    ),
    "media.not_yours": "someone else shared this file: only your own photos can be submitted",
    # Acks through a database outage (issue 10).
    "outage.try_again": (
        "Relais cannot reach its database right now, so nothing was done. Please try again"
        " in a minute."
    ),
    "busy.try_again": (
        "Relais is busy right now, so nothing was done. Please try again in a few seconds."
    ),
    "busy.form_not_sent": (
        "Not sent: Relais is busy right now. Submit this form again in a few seconds."
    ),
    "outage.form_not_sent": (
        "Not sent: Relais cannot reach its database right now. Submit this form again in a minute."
    ),
    "outage.pending": (
        "Relais is slow to reach its database: your request is still being handled and the"
        " answer will follow here."
    ),
    "outage.form_unconfirmed": (
        "Relais is slow to reach its database and cannot confirm your submission yet. Submit"
        " this form again in a minute: it will not be sent twice."
    ),
    "outage.unconfirmed": (
        "Relais lost its database while answering: what you asked may have been done."
        " Check in a minute before trying again."
    ),
    "slack.submission_not_recorded": (
        "Your submission was not recorded: your photos arrived, but Relais could not save it."
    ),
    "slack.not_recorded_why": (
        "The problem is on our side, not in your photos. Please send it again in a few"
        " minutes; the team has been told in the logs."
    ),
    # the CM's numbers (/relais stats, /relais export)
    "stats.title": "Programme numbers",
    "stats.title_own": "Your numbers",
    "stats.title_site": "Numbers of {site}",
    "stats.window": "Last {weeks} weeks, from {start} to {end} (weeks start on Monday, {tz} time)",
    "stats.ambassadors": "Ambassadors",
    "stats.active": "Active in the last 30 days",
    "stats.joined": "Joined this month",
    "stats.per_week": "Submissions per week (sent / approved)",
    "stats.week_line": "Week of {week}: {submitted} / {approved}",
    "stats.approval_rate": "Approval rate",
    "stats.rate_value": {
        "one": "{rate} ({approved} approved of {count} decision)",
        "other": "{rate} ({approved} approved of {count} decisions)",
    },
    "stats.decision_time": "Time from submission to decision",
    "stats.median_p90": {
        "one": "median {median}, 90th percentile {p90} ({count} decision)",
        "other": "median {median}, 90th percentile {p90} ({count} decisions)",
    },
    "stats.hours": "{hours} h",
    "stats.no_data": "no decision yet",
    "stats.escalations": "Escalations",
    "stats.escalations_value": {
        "one": "{count} escalated, {pending} still waiting for an approver",
        "other": "{count} escalated, {pending} still waiting for an approver",
    },
    "stats.no_escalation": "none",
    "stats.escalation_time": "Time from escalation to decision",
    "stats.sites": "Participation by site",
    "stats.site_value": (
        "ambassadors: {ambassadors} · sent this month: {month} "
        "(people: {people}) · sent in 12 weeks: {window}"
    ),
    "stats.silent": "Silent in {month}: {sites}",
    "stats.campaigns": "Campaigns",
    "stats.campaign_line": (
        "{title} ({start} to {end}): sent {submitted} · approved {approved} "
        "· people taking part {people}"
    ),
    "stats.chart.title": "Submissions per week",
    "stats.chart.submitted": "Sent",
    "stats.chart.approved": "Approved",
    "stats.chart.week_of": "Week of",
    "stats.chart.caption": "Last {weeks} weeks, weeks starting on Monday ({tz} time).",
    "stats.chart_follows": "The chart follows in your direct messages.",
    "export.figures": "Programme numbers (CSV)",
    "export.submissions": "Every submission (CSV)",
    "export.sent": "Your export is on its way to your direct messages: two CSV files.",
    "export.download": "Download {filename}",
    # sites (CM)
    "site.none": "No sites yet. Add the first with /relais site add <name>.",
    "site.list_title": {"one": "{count} site", "other": "{count} sites"},
    "site.members": {"one": "{count} member", "other": "{count} members"},
    "site.no_referent": "no referent",
    "site.submissions": {"one": "{count} submission", "other": "{count} submissions"},
    "site.usage": (
        "/relais site list · site add <name> · site rename <old name> -> <new name> · "
        "site merge <site to fold> -> <site to keep>"
    ),
    "site.usage_rename": "Write it as: /relais site rename <old name> -> <new name>",
    "site.usage_merge": "Write it as: /relais site merge <site to fold> -> <site to keep>",
    "site.added": "Site {site} added. Ambassadors can now pick it when they join or submit.",
    "site.renamed": "Site {old} is now called {new}.",
    "site.merged": (
        "Site {old} merged into {new}: {members} and {submissions} moved. The audit trail"
        " keeps the change."
    ),
    "site.exists": "There is already a site called {site} (case, accents and spaces aside).",
    "site.not_found": "No site called {site}. See /relais site list for the names.",
    "site.name_missing": "Give the site a name, e.g. /relais site add Lyon plant",
    "site.merge_same": "{site} is the same site twice: name two different sites.",
    # roles (admin for cm and approver, CM for referents)
    "role.none": "Nobody holds a role yet beyond ambassador.",
    "role.list_title": "Who holds which role",
    "role.usage": (
        "/relais role list · role grant <person> cm|approver|referent [site] · "
        "role revoke <person> cm|approver|referent [site]"
    ),
    "role.of_site": " of {site}",
    "role.granted": "{who} is now {role}{where}. They have been told by direct message.",
    "role.revoked": "{who} is no longer {role}{where}. They have been told by direct message.",
    "role.grant_nothing": "{who} was already {role}{where}: nothing changed.",
    "role.revoke_nothing": "{who} was not {role}{where}: nothing changed.",
    "role.unknown": "{role} is not a role I can give: use cm, approver or referent.",
    "role.site_missing": "Say which site: /relais role grant <person> referent <site>",
    "role.dm.granted": "{by} made you {role}{where} in the ambassador programme.",
    "role.dm.revoked": "{by} removed your role {role}{where} in the ambassador programme.",
    "role.dm.can.cm": (
        "You can now review submissions (the cards in the review channel), send the "
        "digest, change the settings (/relais config), manage sites (/relais site) and "
        "name site referents (/relais role)."
    ),
    "role.dm.can.approver": (
        "You will now receive the sensitive submissions escalated to you, to approve or "
        "reject them."
    ),
    "role.dm.can.referent": (
        "You are now the relay of this site: you get its reminders and a weekly line on "
        "its activity, and see its submissions waiting for review in /relais me. When the "
        "team allows it, you can approve or ask for changes on its non-sensitive submissions."
    ),
    "error.admins_only": "Only an admin can do this (name community managers and approvers).",
    # site referents
    "referent.week": "This week at {site}: {sent}, {approved}, {authors}; {waiting}.",
    "referent.sent": {"one": "{count} submission sent", "other": "{count} submissions sent"},
    "referent.approved": {"one": "{count} approved", "other": "{count} approved"},
    "referent.authors": {
        "one": "{count} ambassador took part",
        "other": "{count} ambassadors took part",
    },
    "referent.waiting": {
        "one": "{count} waiting for review",
        "other": "{count} waiting for review",
    },
    # the charter
    "charter.title": "Ambassador charter, version {version}",
    "charter.accepted_count": {
        "one": "{count} of {total} ambassadors accepted this version",
        "other": "{count} of {total} ambassadors accepted this version",
    },
    "charter.accepted_version": "accepted version {version}",
    "charter.not_accepted": "not accepted yet",
    "charter.more": {"one": "and {count} more", "other": "and {count} more"},
    "charter.publish_hint": "To publish a new version: /relais charter publish",
    "charter.usage": "/relais charter shows the charter; /relais charter publish edits it (CMs).",
    "charter.more_changes": {
        "one": "… and {count} more changed line",
        "other": "… and {count} more changed lines",
    },
    "charter.no_change": "(only spacing changed)",
    "charter.publish.title": "Publish the charter",
    "charter.publish.field": "Charter text",
    "charter.publish.intro": (
        "Edit the text, then preview what changed ({max} characters at most). Every "
        "ambassador will be asked to accept the new version."
    ),
    "charter.publish.changes": "What changes (+ added, − removed):",
    "charter.publish.confirm": "Publish this version and ask every ambassador to accept it",
    "charter.current_too_long": (
        "The current charter is {length} characters long and a chat form holds {max}: "
        "publish it with RELAIS_CHARTER_FILE instead."
    ),
    "charter.too_long": (
        "The charter is {length} characters long; a chat form holds {max}. Shorten it, or "
        "publish it with RELAIS_CHARTER_FILE."
    ),
    "charter.unchanged": "This is the text of version {version} already: change it first.",
    "charter.published": (
        "Charter version {version} published. Every ambassador is asked to accept it by "
        "direct message, and again at their next /submit."
    ),
    "charter.changed": "{by} published version {version} of the ambassador charter.",
    "charter.changed_hint": "Read and accept it to keep sending photos.",
    "button.publish": "Publish",
    "button.preview": "Preview",
    "button.read_accept": "Read and accept",
    # campaigns (CM)
    "campaign.form_title": "New campaign",
    "campaign.form_intro": (
        "A theme that gives ambassadors something to look for. Dates are days in the "
        "workspace's timezone; the last day counts until midnight."
    ),
    "campaign.field.title": "Title",
    "campaign.field.brief": "Brief",
    "campaign.field.brief_hint": "What to shoot, with an example or two",
    "campaign.field.starts_on": "Start date",
    "campaign.field.ends_on": "End date",
    "campaign.field.sites": "Sites",
    "campaign.field.sites_hint": "Every site when none is chosen",
    "campaign.field.hashtag": "Hashtag (optional)",
    "campaign.field.hashtag_hint": "e.g. summer2026",
    "button.create": "Create",
    "campaign.all_sites": "every site",
    "campaign.closed": "closed",
    "campaign.dates": "{start} to {end}",
    "campaign.none": "No campaigns yet. Start one with /relais campaign new.",
    "campaign.list_title": {"one": "{count} campaign", "other": "{count} campaigns"},
    "campaign.usage": (
        "/relais campaign list · campaign new · campaign show <title> · campaign close <title>"
    ),
    "campaign.approved": {"one": "{count} photo", "other": "{count} photos"},
    "campaign.sites": {"one": "{count} site", "other": "{count} sites"},
    "campaign.counts": "{approved} approved, from {sites}",
    "campaign.approved_by": {"one": "{count} approved", "other": "{count} approved"},
    "campaign.result": "Campaign {title} is over: {counts}. Thanks to {names}!",
    "campaign.result_empty": "Campaign {title} is over. Nothing was approved this time.",
    "campaign.created": (
        "Campaign {title} created, {start} to {end}, for {where}. It is announced in the "
        "digest channel when it starts and offered in the photo form."
    ),
    "campaign.closed_posted": (
        "Campaign {title} closed ({counts}); the result is posted in {channel}."
    ),
    "campaign.closed_no_channel": (
        "Campaign {title} closed ({counts}). No digest channel is set, so nothing was posted."
    ),
    "campaign.title_missing": "Give the campaign a title.",
    "campaign.title_too_long": "The title is too long ({max} characters at most).",
    "campaign.brief_too_long": "The brief is too long ({max} characters at most).",
    "campaign.bad_hashtag": "A hashtag is one word of at most {max} characters, e.g. summer2026.",
    "campaign.bad_date": "{value} is not a date. Pick a day (YYYY-MM-DD).",
    "campaign.end_missing": "Pick the campaign's last day.",
    "campaign.start_past": "The start date is in the past. Pick today or a later day.",
    "campaign.end_before_start": "The end date is before the start date.",
    "campaign.exists": "A campaign called {title} is already open. Choose another title.",
    "campaign.not_found": "No campaign called {title}. See /relais campaign list.",
    "campaign.already_closed": "Campaign {title} is already closed.",
    "error.campaign_over": "Campaign {title} is over or not for your site. Pick another one.",
    # personal preferences (/relais config me)
    "help.prefs": (
        "/relais config me — your preferences: your name on the leaderboard, "
        "your badges in the channel"
    ),
    "me.prefs.title": "Your preferences",
    "me.prefs.leaderboard": "Your name on the leaderboard",
    "me.prefs.share_badges": "Your badges announced in the channel",
    "me.prefs.leaderboard.on": "You appear by name on the leaderboard again.",
    "me.prefs.leaderboard.off": (
        "Your name no longer appears on the leaderboard. Your photos still count for your site."
    ),
    "me.prefs.share_badges.on": (
        "Your next badges will be announced in the ambassadors' channel too."
    ),
    "me.prefs.share_badges.off": "Your badges will be told to you only, by direct message.",
    "me.prefs_usage": (
        "Change one with /relais config me leaderboard on|off "
        "or /relais config me share_badges on|off."
    ),
    "me.prefs_unknown": "Unknown preference '{key}'. Preferences: {keys}.",
    "button.leaderboard_hide": "Hide my name from the leaderboard",
    "button.leaderboard_show": "Show my name on the leaderboard",
    # personal data (/relais mydata)
    "help.mydata": "/relais mydata — everything Relais stores about you, sent to you by DM",
    "mydata.title": "Everything Relais stores about you",
    "mydata.photos_follow": {
        "one": "Your photo follows in a zip file.",
        "other": "Your {count} photos follow in a zip file.",
    },
    "mydata.no_photos": "Relais stores no photo of yours.",
    "mydata.photos": "Your photos ({count})",
    "mydata.forget": "To have it deleted: /relais forget.",
    "mydata.sent": "Everything Relais stores about you is on its way by direct message.",
    "mydata.sent_photos": {
        "one": "Everything Relais stores about you, and your photo, are on their way by DM.",
        "other": (
            "Everything Relais stores about you, and your {count} photos, are on their way by DM."
        ),
    },
    # forgetting (/relais forget)
    "help.forget": "/relais forget — delete everything Relais stores about you",
    "forget.title": "Forget me",
    "forget.what": (
        "This deletes your profile, your roles, your charter acceptances, your points, the "
        "messages Relais sent you, and your submissions that are not approved, with their "
        "photos. It cannot be undone."
    ),
    "forget.approved_kept": (
        "Your approved submissions stay in the programme without your name: they will be "
        "shown as sent by a colleague from your site."
    ),
    "forget.approved_deleted": "Your approved submissions are deleted too, with their photos.",
    "forget.mydata_first": "Want a copy first? /relais mydata sends you everything.",
    "button.forget": "Forget me",
    "forget.not_yours": "This button was for someone else. Type /relais forget yourself.",
    "forget.done_none": "Done: Relais has forgotten you.",
    "forget.done": {
        "one": (
            "Done: Relais has forgotten you. One approved submission stays, without your name."
        ),
        "other": (
            "Done: Relais has forgotten you. {count} approved submissions stay, without your name."
        ),
    },
    "person.forgotten": "a colleague",
    "person.forgotten_site": "a colleague from {site}",
    "card.removed": "Submission #{id} was deleted at its author's request.",
    # /privacy and /terms (relais/legal.py): plain pages, one paragraph per entry
    "legal.language_link": "Version française",
    "legal.privacy.title": "Relais: privacy",
    "legal.privacy.intro": (
        "Relais is the bot that runs your company's ambassador programme in Slack and "
        "Microsoft Teams. This page says what it stores about you, why, for how long, and "
        "how to get it or have it deleted."
    ),
    "legal.privacy.stores.heading": "What Relais stores",
    "legal.privacy.stores.profile": (
        "Your profile: your Slack or Teams user id, the display name, language and timezone "
        "the platform gives, your site, and your roles in the programme (ambassador, "
        "referent, community manager, approver)."
    ),
    "legal.privacy.stores.charter": "Which versions of the charter you accepted, and when.",
    "legal.privacy.stores.submissions": (
        "What you send: captions, photos, the site and campaign, and the boxes you tick "
        "(people in the photos agreed, sensitive content). Location, camera details and "
        "other metadata are removed from each photo when it arrives: only the picture is "
        "kept."
    ),
    "legal.privacy.stores.reviews": (
        "The review of each submission: who decided, when, and the reason given."
    ),
    "legal.privacy.stores.points": "The points credited for your approved submissions.",
    "legal.privacy.stores.nudges": (
        "Which reminders (nudges) were sent to you and when, and whether you snoozed them."
    ),
    "legal.privacy.stores.audit": (
        "An audit trail of what was done (submissions, decisions, role and site changes), "
        "so every decision can be explained."
    ),
    "legal.privacy.stores.not": (
        "Relais does not read your other messages, does not know where you are, and shares "
        "nothing outside your company's chat tool."
    ),
    "legal.privacy.why.heading": "Why",
    "legal.privacy.why.body": (
        "To run the programme you volunteered for under its charter: show your submissions "
        "to the people who review them, celebrate approved ones in the weekly digest, thank "
        "contributors, send a few polite reminders, and give the community managers the "
        "programme's figures."
    ),
    "legal.privacy.how_long.heading": "For how long",
    "legal.privacy.how_long.rejected": {
        "one": (
            "The photos of a rejected or withdrawn submission are deleted {count} day after "
            "the decision or the withdrawal. The record of the submission (caption, decision, "
            "audit trail) stays, so the decision can still be explained."
        ),
        "other": (
            "The photos of a rejected or withdrawn submission are deleted {count} days after "
            "the decision or the withdrawal. The record of the submission (caption, decision, "
            "audit trail) stays, so the decision can still be explained."
        ),
    },
    "legal.privacy.how_long.replaced": {
        "one": "Photos you replace when you resend a submission are deleted {count} day later.",
        "other": (
            "Photos you replace when you resend a submission are deleted {count} days later."
        ),
    },
    "legal.privacy.how_long.approved": (
        "Approved submissions and their photos are kept for as long as the programme runs: "
        "they are what the programme shares."
    ),
    "legal.privacy.how_long.rest": (
        "Your profile, points and the rest are kept while you take part. Leaving the "
        "programme (/relais leave) stops submissions and reminders; it does not delete what "
        "you sent before."
    ),
    "legal.privacy.rights.heading": "Getting your data, or having it deleted",
    "legal.privacy.rights.body": (
        "Type /relais mydata: Relais sends you, by direct message, everything it stores about "
        "you as a file, and your photos as a zip. Type /relais forget to have it deleted: "
        "your profile, roles, points and submissions that are not approved go at once; "
        'approved ones are kept without your name ("a colleague from Lyon") or deleted, '
        "as your company chose. Someone who left the company is forgotten by an "
        "administrator. Photo files nobody uses any more are removed by the daily retention "
        "round within eight days."
    ),
    "legal.terms.title": "Relais: terms of use",
    "legal.terms.intro": (
        "Relais is provided by your company for its internal ambassador programme. Taking "
        "part is voluntary."
    ),
    "legal.terms.charter": (
        "Joining means accepting the programme's charter (/relais charter shows it): what "
        "you may say and share, and the image rights of the people in your photos. Send "
        "only photos whose people agreed to appear in them."
    ),
    "legal.terms.review": (
        "A community manager reviews each submission before it is shared. They may approve "
        "it, reject it, ask for changes, or pass it to an approver."
    ),
    "legal.terms.reuse": (
        "Approved submissions are shown in the programme's weekly digest and may be reused "
        "by the programme's community managers."
    ),
    "legal.terms.leave": (
        "You may leave at any time with /relais leave, and withdraw a submission that has "
        "not been decided yet."
    ),
    "legal.terms.privacy": "What Relais stores about you, and for how long:",
    "legal.terms.privacy_link": "privacy",
    # the content library (/relais library, GET /library/{token})
    "help.library": "/relais library — the library of approved photos, to browse and download",
    "library.title": "Content library",
    "library.intro": (
        "Every approved photo, with its caption and credit, by site, campaign and week. "
        "Download the cleaned images (no location, no camera data)."
    ),
    "library.open": "Open the library",
    "library.expires": {
        "one": "The link works for {count} hour; ask again for a new one.",
        "other": "The link works for {count} hours; ask again for a new one.",
    },
    "library.not_public": (
        "PUBLIC_URL is not set: the link only works on the machine running Relais."
    ),
    "library.page.heading": "Approved photos and news",
    "library.page.count": {
        "one": "{count} approved submission",
        "other": "{count} approved submissions",
    },
    "library.page.site": "Site",
    "library.page.campaign": "Campaign",
    "library.page.week": "Week",
    "library.page.any": "All",
    "library.page.week_of": "Week of {day}",
    "library.page.filter": "Show",
    "library.page.empty": "No approved photo or news matches.",
    "library.page.credit": "Photo: {author}",
    "library.page.approved_on": "Approved {day}",
    "library.page.video": "▶ Video: open it to play",
    "library.page.download": "Original (internal)",
    "library.page.use": "Use",
    "library.page.download_outside": "For use outside",
    "library.page.download_outside_blur": "For use outside (faces blurred if needed)",
    "library.page.use_external": "Cleared for use outside the company",
    "library.page.use_internal": "Internal use only",
    "library.page.appears_nobody": "Nobody recognisable in the photo",
    "library.page.appears_colleagues": {
        "one": "{agreed} of {count} colleague named agreed",
        "other": "{agreed} of {count} colleagues named agreed",
    },
    "library.page.appears_outside": "People outside the company: written agreement held",
    "library.page.appears_unknown": "Sent before Relais asked who appears",
    "library.page.newer": "Newer",
    "library.page.older": "Older",
    "library.page.valid_until": "This page's link works until {at}.",
    "library.page.invalid": (
        "This library link is not valid. Ask Relais for a new one: /relais library."
    ),
    "library.page.expired": (
        "This library link has expired. Ask Relais for a new one: /relais library."
    ),
    # field news (a title and a text, no photo)
    "appears.news": "Nobody (news without a photo)",
    "card.news.title": "Field news #{id}",
    "card.link": "Link: {url}",
    "button.open_link": "Open the link",
    "dm.outcome.title": "Title: {title}",
    "field.title": "Title (required for news without a photo)",
    "field.caption_or_text": "Caption (or the text of your news)",
    "field.link": "Link (optional, http or https)",
    "form.submit.title_hint": "A short headline",
    "form.submit.intro": (
        "Send photos, or field news without a photo: a title and a text "
        "(and a link if you have one)."
    ),
    "error.news_title_required": "News without a photo needs a title (or add a photo).",
    "error.news_text_required": "News without a photo needs a text (or add a photo).",
    "error.title_too_long": (
        "Your title is {length} characters long; the limit is {max}. Please shorten it."
    ),
    "error.bad_link": (
        "The link must be a web address starting with http:// or https://, "
        "{max} characters at most."
    ),
    "digest.news": "News: {title}",
    "library.page.news": "Field news",
    "library.page.credit_news": "By {author}",
    "library.page.appears_news": "News without a photo: nobody appears",
}
