// Every user-visible string of the portal, in English and Japanese.
// Elements carry their message key in data-i18n (text) or data-i18n-attr (attributes),
// so switching language re-translates the page in place without losing form state.

const STORE_KEY = 'zengen.lang';
export const LANGS = ['en', 'ja'];

const en = {
  'app.name': 'zengen',
  'app.title': 'National Cancer Genome Data Center',
  'app.skip': 'Skip to main content',
  'app.loading': 'Loading…',
  'app.footer': 'Access to this system is recorded in a tamper-evident audit log.',
  'lang.switch': '日本語',
  'lang.switch.label': 'Switch language to Japanese',
  'lang.switch.code': 'ja',

  'nav.label': 'Main navigation',
  'nav.home': 'Home',
  'nav.cases': 'Cases',
  'nav.admin': 'Administration',
  'nav.audit': 'Audit log',
  'nav.account': 'Account',
  'nav.signout': 'Sign out',
  'nav.signedin': 'Signed in as {login}',

  'role.admin': 'Administrator',
  'role.operator': 'Data-center operator',
  'role.clinician': 'Clinician',
  'role.hospital-data': 'Hospital data manager',
  'role.sequencer': 'Sequencing center',
  'role.academic': 'Academic researcher',
  'role.industry': 'Industry researcher',
  'role.dac': 'Data-access committee member',
  'role.auditor': 'Auditor',
  'role.participant': 'Participant',

  'tier.public': 'Public',
  'tier.self': 'Own account',
  'tier.overview': 'Overview',
  'tier.aggregate': 'Aggregate',
  'tier.detailed-genome': 'Detailed genome',
  'tier.detailed-clinical': 'Detailed clinical',
  'tier.identifiable': 'Identifiable',
  'tier.audit': 'Audit',
  'tier.admin': 'Administration',

  'common.yes': 'Yes',
  'common.no': 'No',
  'common.none': '—',
  'common.copy': 'Copy',
  'common.copied': 'Copied',
  'common.close': 'Close',
  'common.cancel': 'Cancel',
  'common.refresh': 'Refresh',
  'common.revoke': 'Revoke',
  'common.confirm': 'Confirm',
  'common.empty': 'Nothing to show.',
  'common.optional': '(optional)',
  'common.saved': 'Saved.',
  'common.once': 'This is shown only once. Store it securely now; it cannot be displayed again.',

  'login.title': 'Sign in',
  'login.intro': 'Sign in with your account, password and the one-time code from your authenticator app.',
  'login.login': 'Login',
  'login.password': 'Password',
  'login.totp': 'One-time code',
  'login.totp.hint': '6-digit code from your authenticator app',
  'login.recovery': 'Recovery code',
  'login.recovery.hint': 'One of the recovery codes you saved when setting up multi-factor authentication. Each code works once.',
  'login.use.recovery': 'Use a recovery code instead',
  'login.use.totp': 'Use the one-time code instead',
  'login.submit': 'Sign in',
  'login.busy': 'Signing in…',
  'login.notice': 'For authorised users only. All access is recorded.',

  'err.title': 'Something went wrong',
  'err.invalid-credentials': 'Sign-in failed: the login, password or one-time code is incorrect.',
  'err.mfa-required.login': 'A one-time code is required for this account. Enter the 6-digit code from your authenticator app.',
  'err.mfa-required': 'This requires multi-factor authentication. Set it up on your account page first.',
  'err.locked': 'This account is temporarily locked after repeated failures.',
  'err.locked.retry': 'Try again in {n} seconds.',
  'err.unauthenticated': 'Your session has ended. Please sign in again.',
  'err.csrf': 'The security token of this page is no longer valid. Reload the page and try again.',
  'err.forbidden': 'You are not permitted to do this.',
  'err.validation': 'Please correct the highlighted input.',
  'err.conflict': 'This conflicts with existing data.',
  'err.not-found': 'Not found.',
  'err.network': 'The server could not be reached. Check your connection and try again.',
  'err.internal': 'The server reported an internal error.',
  'err.payload-too-large': 'The request is too large.',
  'err.bad-json': 'The request could not be read by the server.',
  'err.unsupported-media-type': 'The server does not accept this kind of request.',
  'err.method-not-allowed': 'This operation is not supported here.',
  'err.generic': 'The request failed (HTTP {status}).',
  'err.client': 'This page could not be displayed. Reload the page; if the problem persists, contact the data center.',
  'err.request_id': 'Request ID: {id}',
  'err.mismatch': 'The new passwords do not match.',
  'err.code.format': 'Enter the 6-digit code.',

  'home.title': 'Home',
  'home.welcome': 'Welcome',
  'home.user': 'Login',
  'home.org': 'Organisation',
  'home.role': 'Role',
  'home.mfa': 'Multi-factor authentication',
  'home.mfa.on': 'Enabled',
  'home.mfa.off': 'Not set up',
  'home.tiers': 'Data access',
  'home.mfa.banner.title': 'Multi-factor authentication is required for your role',
  'home.mfa.banner.text': 'Until you set it up you can only manage your own account.',
  'home.mfa.banner.link': 'Set up multi-factor authentication',
  'home.tasks': 'What you can do',
  'card.admin.title': 'Users and organisations',
  'card.admin.text': 'Register organisations, create accounts and disable access.',
  'card.audit.title': 'Audit log',
  'card.audit.text': 'Review who accessed which data, and verify the integrity of the hash chain.',
  'card.cases.title': 'Cases',
  'card.cases.text': 'Register cases and specimens, and follow their progress.',
  'card.account.title': 'Account and security',
  'card.account.text': 'Sessions, API tokens, multi-factor authentication and password.',
  'card.stats.title': 'Overview statistics',
  'card.stats.text': 'Current totals registered in the data center.',
  'card.open': 'Open',
  'stats.orgs': 'Organisations',
  'stats.cases': 'Cases',
  'stats.participants': 'Participants',
  'stats.specimens': 'Specimens',
  'stats.unavailable': 'Statistics are not available.',

  'account.title': 'Account',
  'account.sessions': 'Active sessions',
  'account.sessions.intro': 'Devices where you are signed in. Revoke any session you do not recognise.',
  'account.session.created': 'Signed in',
  'account.session.last': 'Last active',
  'account.session.expires': 'Expires',
  'account.session.ip': 'IP address',
  'account.session.agent': 'Browser',
  'account.session.current': 'This session',
  'account.tokens': 'API tokens',
  'account.tokens.intro': 'Tokens let programs call the API on your behalf with the tiers you select. Send as "Authorization: Bearer …".',
  'account.token.name': 'Name',
  'account.token.scopes': 'Scopes',
  'account.token.created': 'Created',
  'account.token.expires': 'Expires',
  'account.token.lastused': 'Last used',
  'account.token.status': 'Status',
  'account.token.active': 'Active',
  'account.token.revoked': 'Revoked',
  'account.token.new': 'Create a token',
  'account.token.days': 'Valid for (days)',
  'account.token.create': 'Create token',
  'account.token.shown': 'Your new API token',
  'account.mfa': 'Multi-factor authentication',
  'account.mfa.on': 'Multi-factor authentication is enabled for this account.',
  'account.mfa.off': 'Multi-factor authentication is not set up.',
  'account.mfa.start': 'Set up authenticator app',
  'account.mfa.restart': 'Set up a new authenticator',
  'account.mfa.step1': '1. Scan this QR code with your authenticator app, or enter the secret key manually.',
  'account.mfa.qr': 'QR code for the authenticator app',
  'account.mfa.secret': 'Secret key',
  'account.mfa.step2': '2. Enter the 6-digit code shown by the app to confirm.',
  'account.mfa.confirm': 'Confirm',
  'account.mfa.done': 'Multi-factor authentication is now enabled.',
  'account.mfa.codes': 'Recovery codes',
  'account.mfa.codes.text': 'Each code signs you in once if you lose your device. Keep them somewhere safe and offline.',
  'account.mfa.codes.copy': 'Copy all codes',
  'account.password': 'Change password',
  'account.password.current': 'Current password',
  'account.password.new': 'New password',
  'account.password.repeat': 'Repeat new password',
  'account.password.hint': 'At least 12 characters. A long passphrase is best.',
  'account.password.submit': 'Change password',
  'account.password.done': 'Your password has been changed.',

  'admin.title': 'Administration',
  'admin.orgs': 'Organisations',
  'admin.org.id': 'ID',
  'admin.org.name': 'Name',
  'admin.org.type': 'Type',
  'admin.org.new': 'Register an organisation',
  'admin.org.create': 'Register organisation',
  'admin.org.created': 'Organisation {name} registered.',
  'orgtype.hospital': 'Hospital',
  'orgtype.sequencing': 'Sequencing center',
  'orgtype.academia': 'Academic institution',
  'orgtype.industry': 'Company',
  'orgtype.datacenter': 'Data center',
  'admin.users': 'Users',
  'admin.user.login': 'Login',
  'admin.user.role': 'Role',
  'admin.user.org': 'Organisation',
  'admin.user.mfa': 'MFA',
  'admin.user.status': 'Status',
  'admin.user.created': 'Created',
  'admin.user.active': 'Active',
  'admin.user.disabled': 'Disabled',
  'admin.user.locked': 'Locked until',
  'admin.user.disable': 'Disable',
  'admin.user.disable.confirm': 'Confirm disable',
  'admin.user.new': 'Create a user',
  'admin.user.create': 'Create user',
  'admin.user.choose': 'Choose…',
  'admin.user.shown': 'Initial credentials for {login}',
  'admin.user.shown.text': 'Hand these to the user through a secure channel. They should change the password and register the secret in an authenticator app at first sign-in.',
  'admin.user.password': 'Initial password',
  'admin.user.totp': 'TOTP secret',

  'audit.title': 'Audit log',
  'audit.intro': 'Every access to data is recorded in an append-only, hash-chained log.',
  'audit.filter.user': 'User',
  'audit.filter.action': 'Action',
  'audit.filter.apply': 'Apply filters',
  'audit.filter.clear': 'Clear',
  'audit.seq': 'No.',
  'audit.time': 'Time',
  'audit.user': 'User',
  'audit.action': 'Action',
  'audit.target': 'Target',
  'audit.outcome': 'Outcome',
  'audit.source': 'Source',
  'audit.first': 'First page',
  'audit.prev': 'Previous page',
  'audit.next': 'Next page',
  'audit.page': 'Page {n}',
  'audit.verify': 'Verify chain',
  'audit.verify.busy': 'Verifying…',
  'audit.verify.ok': 'The audit chain is intact: {n} events verified.',
  'audit.verify.bad': 'The audit chain is broken at event {seq}: {reason}',
  'audit.verify.head': 'Head hash',

  'cases.title': 'Cases',
  'cases.intro': 'Cases registered by your organisation, with their specimens.',
  'cases.id': 'Case ID',
  'cases.participant': 'Participant ID',
  'cases.org': 'Organisation',
  'cases.created': 'Registered',
  'cases.new': 'Register a case',
  'cases.local': 'Hospital patient ID',
  'cases.local.hint': 'Linked to a pseudonymous participant ID; the hospital ID itself is kept only in the linkage store.',
  'cases.create': 'Register case',
  'cases.created.msg': 'Case {id} registered.',
  'cases.back': 'Back to cases',
  'cases.detail': 'Case {id}',
  'cases.specimens': 'Specimens',
  'specimen.id': 'Specimen ID',
  'specimen.type': 'Type',
  'specimen.created': 'Registered',
  'specimen.new': 'Add a specimen',
  'specimen.add': 'Add specimen',
  'specimen.added': 'Specimen {id} added.',
  'specimen.type.choose': 'Choose a type…',
  'specimen.type.tumour-tissue': 'Tumour tissue (fresh frozen)',
  'specimen.type.tumour-ffpe': 'Tumour tissue (FFPE)',
  'specimen.type.normal-blood': 'Normal control (blood)',
  'specimen.type.normal-tissue': 'Normal control (tissue)',
  'specimen.type.plasma': 'Plasma',
  'specimen.type.other': 'Other',

  'notfound.title': 'Page not found',
  'notfound.text': 'There is no page at this address.',
  'denied.title': 'Not available for your role',
  'denied.text': 'Your role does not include access to this page.',
};

const ja = {
  'app.name': 'zengen',
  'app.title': '全ゲノム解析 データセンター',
  'app.skip': '本文へ移動',
  'app.loading': '読み込み中…',
  'app.footer': 'このシステムへのアクセスは改ざん検知可能な監査ログに記録されます。',
  'lang.switch': 'English',
  'lang.switch.label': '表示言語を英語に切り替える',
  'lang.switch.code': 'en',

  'nav.label': 'メインナビゲーション',
  'nav.home': 'ホーム',
  'nav.cases': '症例',
  'nav.admin': '管理',
  'nav.audit': '監査ログ',
  'nav.account': 'アカウント',
  'nav.signout': 'サインアウト',
  'nav.signedin': '{login} でサインイン中',

  'role.admin': 'システム管理者',
  'role.operator': 'データセンター運用者',
  'role.clinician': '臨床医',
  'role.hospital-data': '医療機関データ管理者',
  'role.sequencer': 'シークエンス施設',
  'role.academic': 'アカデミア研究者',
  'role.industry': '産業界研究者',
  'role.dac': 'データ利活用審査委員',
  'role.auditor': '監査担当者',
  'role.participant': '研究参加者',

  'tier.public': '公開',
  'tier.self': '自分のアカウント',
  'tier.overview': '概要',
  'tier.aggregate': '集計',
  'tier.detailed-genome': '詳細ゲノム',
  'tier.detailed-clinical': '詳細臨床',
  'tier.identifiable': '個人識別',
  'tier.audit': '監査',
  'tier.admin': '管理',

  'common.yes': 'はい',
  'common.no': 'いいえ',
  'common.none': '—',
  'common.copy': 'コピー',
  'common.copied': 'コピーしました',
  'common.close': '閉じる',
  'common.cancel': 'キャンセル',
  'common.refresh': '再読み込み',
  'common.revoke': '失効',
  'common.confirm': '確認',
  'common.empty': '表示する項目はありません。',
  'common.optional': '（任意）',
  'common.saved': '保存しました。',
  'common.once': 'この情報は一度だけ表示されます。再表示はできないため、今すぐ安全な場所に保管してください。',

  'login.title': 'サインイン',
  'login.intro': 'ログイン名、パスワード、認証アプリに表示されるワンタイムコードを入力してください。',
  'login.login': 'ログイン名',
  'login.password': 'パスワード',
  'login.totp': 'ワンタイムコード',
  'login.totp.hint': '認証アプリに表示される6桁のコード',
  'login.recovery': 'リカバリーコード',
  'login.recovery.hint': '多要素認証の設定時に保存したリカバリーコードのいずれか。各コードは1回のみ使用できます。',
  'login.use.recovery': 'リカバリーコードを使用する',
  'login.use.totp': 'ワンタイムコードを使用する',
  'login.submit': 'サインイン',
  'login.busy': 'サインインしています…',
  'login.notice': '許可された利用者専用です。すべてのアクセスは記録されます。',

  'err.title': 'エラーが発生しました',
  'err.invalid-credentials': 'サインインできませんでした。ログイン名、パスワード、またはワンタイムコードが正しくありません。',
  'err.mfa-required.login': 'このアカウントにはワンタイムコードが必要です。認証アプリに表示される6桁のコードを入力してください。',
  'err.mfa-required': 'この操作には多要素認証が必要です。先にアカウント画面で設定してください。',
  'err.locked': '認証の失敗が続いたため、このアカウントは一時的にロックされています。',
  'err.locked.retry': '{n} 秒後に再度お試しください。',
  'err.unauthenticated': 'セッションが終了しました。もう一度サインインしてください。',
  'err.csrf': 'このページのセキュリティトークンが無効になりました。ページを再読み込みしてから再度お試しください。',
  'err.forbidden': 'この操作を行う権限がありません。',
  'err.validation': '入力内容を確認してください。',
  'err.conflict': '既存のデータと重複しています。',
  'err.not-found': '見つかりません。',
  'err.network': 'サーバーに接続できませんでした。接続を確認して再度お試しください。',
  'err.internal': 'サーバーで内部エラーが発生しました。',
  'err.payload-too-large': 'リクエストが大きすぎます。',
  'err.bad-json': 'サーバーがリクエストを読み取れませんでした。',
  'err.unsupported-media-type': 'サーバーはこの形式のリクエストを受け付けません。',
  'err.method-not-allowed': 'この操作はここでは利用できません。',
  'err.generic': 'リクエストが失敗しました（HTTP {status}）。',
  'err.client': 'このページを表示できませんでした。ページを再読み込みし、解決しない場合はデータセンターにお問い合わせください。',
  'err.request_id': 'リクエストID: {id}',
  'err.mismatch': '新しいパスワードが一致しません。',
  'err.code.format': '6桁のコードを入力してください。',

  'home.title': 'ホーム',
  'home.welcome': 'ようこそ',
  'home.user': 'ログイン名',
  'home.org': '所属機関',
  'home.role': 'ロール',
  'home.mfa': '多要素認証',
  'home.mfa.on': '有効',
  'home.mfa.off': '未設定',
  'home.tiers': '利用できるデータ区分',
  'home.mfa.banner.title': 'このロールでは多要素認証が必須です',
  'home.mfa.banner.text': '設定が完了するまでは、ご自身のアカウント管理のみ利用できます。',
  'home.mfa.banner.link': '多要素認証を設定する',
  'home.tasks': '利用できる機能',
  'card.admin.title': '利用者と機関',
  'card.admin.text': '機関の登録、アカウントの作成、利用停止を行います。',
  'card.audit.title': '監査ログ',
  'card.audit.text': '誰がどのデータにアクセスしたかを確認し、ハッシュチェーンの完全性を検証します。',
  'card.cases.title': '症例',
  'card.cases.text': '症例と検体を登録し、進捗を確認します。',
  'card.account.title': 'アカウントとセキュリティ',
  'card.account.text': 'セッション、APIトークン、多要素認証、パスワードを管理します。',
  'card.stats.title': '概要統計',
  'card.stats.text': 'データセンターに登録されている現在の件数です。',
  'card.open': '開く',
  'stats.orgs': '機関',
  'stats.cases': '症例',
  'stats.participants': '研究参加者',
  'stats.specimens': '検体',
  'stats.unavailable': '統計情報を取得できません。',

  'account.title': 'アカウント',
  'account.sessions': '有効なセッション',
  'account.sessions.intro': 'サインインしている端末の一覧です。心当たりのないセッションは失効させてください。',
  'account.session.created': 'サインイン日時',
  'account.session.last': '最終利用',
  'account.session.expires': '有効期限',
  'account.session.ip': 'IPアドレス',
  'account.session.agent': 'ブラウザ',
  'account.session.current': '現在のセッション',
  'account.tokens': 'APIトークン',
  'account.tokens.intro': 'プログラムから、選択したデータ区分の範囲でAPIを利用するためのトークンです。「Authorization: Bearer …」ヘッダーで送信します。',
  'account.token.name': '名前',
  'account.token.scopes': 'スコープ',
  'account.token.created': '作成日時',
  'account.token.expires': '有効期限',
  'account.token.lastused': '最終利用',
  'account.token.status': '状態',
  'account.token.active': '有効',
  'account.token.revoked': '失効済み',
  'account.token.new': 'トークンを作成',
  'account.token.days': '有効日数',
  'account.token.create': 'トークンを作成',
  'account.token.shown': '新しいAPIトークン',
  'account.mfa': '多要素認証',
  'account.mfa.on': 'このアカウントでは多要素認証が有効です。',
  'account.mfa.off': '多要素認証が設定されていません。',
  'account.mfa.start': '認証アプリを設定する',
  'account.mfa.restart': '新しい認証アプリを設定する',
  'account.mfa.step1': '1. 認証アプリでこのQRコードを読み取るか、シークレットキーを手動で入力してください。',
  'account.mfa.qr': '認証アプリ用のQRコード',
  'account.mfa.secret': 'シークレットキー',
  'account.mfa.step2': '2. 確認のため、アプリに表示された6桁のコードを入力してください。',
  'account.mfa.confirm': '確認',
  'account.mfa.done': '多要素認証が有効になりました。',
  'account.mfa.codes': 'リカバリーコード',
  'account.mfa.codes.text': '端末を紛失した場合、各コードで1回だけサインインできます。オフラインの安全な場所に保管してください。',
  'account.mfa.codes.copy': 'すべてのコードをコピー',
  'account.password': 'パスワードの変更',
  'account.password.current': '現在のパスワード',
  'account.password.new': '新しいパスワード',
  'account.password.repeat': '新しいパスワード（確認）',
  'account.password.hint': '12文字以上。長いパスフレーズを推奨します。',
  'account.password.submit': 'パスワードを変更',
  'account.password.done': 'パスワードを変更しました。',

  'admin.title': '管理',
  'admin.orgs': '機関',
  'admin.org.id': 'ID',
  'admin.org.name': '名称',
  'admin.org.type': '種別',
  'admin.org.new': '機関を登録',
  'admin.org.create': '機関を登録',
  'admin.org.created': '機関「{name}」を登録しました。',
  'orgtype.hospital': '医療機関',
  'orgtype.sequencing': 'シークエンス施設',
  'orgtype.academia': '学術機関',
  'orgtype.industry': '企業',
  'orgtype.datacenter': 'データセンター',
  'admin.users': '利用者',
  'admin.user.login': 'ログイン名',
  'admin.user.role': 'ロール',
  'admin.user.org': '所属機関',
  'admin.user.mfa': '多要素認証',
  'admin.user.status': '状態',
  'admin.user.created': '作成日時',
  'admin.user.active': '有効',
  'admin.user.disabled': '利用停止',
  'admin.user.locked': 'ロック中（解除予定）',
  'admin.user.disable': '利用停止',
  'admin.user.disable.confirm': '利用停止を確定',
  'admin.user.new': '利用者を作成',
  'admin.user.create': '利用者を作成',
  'admin.user.choose': '選択してください',
  'admin.user.shown': '{login} の初期認証情報',
  'admin.user.shown.text': '安全な経路で利用者に渡してください。初回サインイン時にパスワードを変更し、シークレットを認証アプリに登録するよう案内してください。',
  'admin.user.password': '初期パスワード',
  'admin.user.totp': 'TOTPシークレット',

  'audit.title': '監査ログ',
  'audit.intro': 'データへのすべてのアクセスは、追記専用でハッシュチェーン化されたログに記録されます。',
  'audit.filter.user': '利用者',
  'audit.filter.action': '操作',
  'audit.filter.apply': '絞り込む',
  'audit.filter.clear': 'クリア',
  'audit.seq': '番号',
  'audit.time': '日時',
  'audit.user': '利用者',
  'audit.action': '操作',
  'audit.target': '対象',
  'audit.outcome': '結果',
  'audit.source': 'アクセス元',
  'audit.first': '最初のページ',
  'audit.prev': '前のページ',
  'audit.next': '次のページ',
  'audit.page': '{n} ページ目',
  'audit.verify': 'チェーンを検証',
  'audit.verify.busy': '検証しています…',
  'audit.verify.ok': '監査チェーンは完全です（{n} 件のイベントを検証しました）。',
  'audit.verify.bad': '監査チェーンがイベント {seq} で破損しています: {reason}',
  'audit.verify.head': '先頭ハッシュ',

  'cases.title': '症例',
  'cases.intro': '所属機関が登録した症例と検体の一覧です。',
  'cases.id': '症例ID',
  'cases.participant': '研究参加者ID',
  'cases.org': '機関',
  'cases.created': '登録日時',
  'cases.new': '症例を登録',
  'cases.local': '医療機関の患者ID',
  'cases.local.hint': '仮名化された研究参加者IDに紐付けられます。患者ID自体は連結情報ストアにのみ保管されます。',
  'cases.create': '症例を登録',
  'cases.created.msg': '症例 {id} を登録しました。',
  'cases.back': '症例一覧に戻る',
  'cases.detail': '症例 {id}',
  'cases.specimens': '検体',
  'specimen.id': '検体ID',
  'specimen.type': '種別',
  'specimen.created': '登録日時',
  'specimen.new': '検体を追加',
  'specimen.add': '検体を追加',
  'specimen.added': '検体 {id} を追加しました。',
  'specimen.type.choose': '種別を選択してください',
  'specimen.type.tumour-tissue': '腫瘍組織（凍結）',
  'specimen.type.tumour-ffpe': '腫瘍組織（FFPE）',
  'specimen.type.normal-blood': '正常対照（血液）',
  'specimen.type.normal-tissue': '正常対照（組織）',
  'specimen.type.plasma': '血漿',
  'specimen.type.other': 'その他',

  'notfound.title': 'ページが見つかりません',
  'notfound.text': 'このアドレスにはページがありません。',
  'denied.title': 'このロールでは利用できません',
  'denied.text': 'あなたのロールにはこのページへのアクセス権がありません。',
};

const dict = { en, ja };

/** Adds a domain's strings ({en:{…}, ja:{…}}); a key already defined is a defect and throws. */
export function extend(more) {
  for (const l of LANGS) {
    for (const [k, v] of Object.entries(more[l] || {})) {
      if (k in dict[l]) throw new Error(`i18n key ${k} defined twice`);
      dict[l][k] = v;
    }
  }
}
const listeners = new Set();

function initialLang() {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch { /* storage disabled */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'en';
  return nav.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

let current = initialLang();

export function lang() { return current; }

/** Translates a key, substituting {name} placeholders from params. Unknown keys fall back to English, then to the key. */
export function t(key, params) {
  let s = dict[current][key] ?? en[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
  return s;
}

/** True when a message key exists (used for optional keys such as role or tier names). */
export function has(key) { return key in en; }

/** Formats an ISO-8601 string or a UNIX time (seconds or ms) in the current language. */
export function fmtTime(v) {
  if (v === null || v === undefined || v === '') return t('common.none');
  let d;
  if (typeof v === 'number') d = new Date(v < 1e12 ? v * 1000 : v);
  else if (/^\d+$/.test(String(v))) { const n = Number(v); d = new Date(n < 1e12 ? n * 1000 : n); }
  else d = new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return new Intl.DateTimeFormat(current === 'ja' ? 'ja-JP' : 'en-GB', {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).format(d);
}

export function fmtNumber(n) {
  return typeof n === 'number' ? new Intl.NumberFormat(current === 'ja' ? 'ja-JP' : 'en-GB').format(n) : String(n ?? '—');
}

/** Re-translates every marked element under root (text, attributes, times, numbers). */
export function translate(root = document) {
  if (!root) return;
  const all = (sel) => {
    const list = [...root.querySelectorAll(sel)];
    if (root.matches && root.matches(sel)) list.unshift(root);
    return list;
  };
  for (const el of all('[data-i18n]')) {
    const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : undefined;
    el.textContent = t(el.dataset.i18n, args);
  }
  for (const el of all('[data-i18n-attr]')) {
    const map = JSON.parse(el.dataset.i18nAttr);
    for (const [attr, key] of Object.entries(map)) el.setAttribute(attr, t(key));
  }
  for (const el of all('[data-time]')) el.textContent = fmtTime(el.dataset.time);
  for (const el of all('[data-number]')) el.textContent = fmtNumber(Number(el.dataset.number));
}

function applyDocument() {
  document.documentElement.lang = current;
  document.title = `${t('app.title')} — zengen`;
}

export function setLang(l) {
  if (!LANGS.includes(l)) return;
  current = l;
  try { localStorage.setItem(STORE_KEY, l); } catch { /* storage disabled */ }
  applyDocument();
  translate(document);
  for (const fn of listeners) fn(l);
}

export function onLangChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

applyDocument();
