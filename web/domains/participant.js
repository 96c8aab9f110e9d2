// The participant's own view: who used my data (M23 transparency).
export const routes = [
  { re: /^\/my-data$/, page: 'mydata' },
];

export const navItems = [
  { href: '#/my-data', key: 'nav.mydata', roles: ['participant'], match: /^\/my-data/ },
];

export const strings = {
  en: {
    'nav.mydata': 'Use of my data',
    'mydata.title': 'Who has used my data',
    'mydata.intro': 'Every time an organisation reads or changes data about you, zengen records it in a tamper-evident log. This page lists those records: which organisation, in which role, did what, and when.',
    'mydata.empty': 'No one has used your data yet.',
    'mydata.unlinked': 'Your account is not yet linked to your study records. Please contact your hospital.',
    'mydata.when': 'When',
    'mydata.org': 'Organisation',
    'mydata.role': 'Role',
    'mydata.action': 'What',
    'mydata.outcome': 'Outcome',
    'mydata.more': 'Show older records',
  },
  ja: {
    'nav.mydata': '私のデータの利用',
    'mydata.title': '私のデータを利用した人',
    'mydata.intro': 'あなたに関するデータを組織が閲覧・変更するたびに、zengen は改ざんを検知できる記録に残します。このページでは、どの組織が、どの役割で、いつ、何をしたかを確認できます。',
    'mydata.empty': 'まだ誰もあなたのデータを利用していません。',
    'mydata.unlinked': 'あなたのアカウントはまだ研究の記録と結び付けられていません。医療機関にお問い合わせください。',
    'mydata.when': '日時',
    'mydata.org': '組織',
    'mydata.role': '役割',
    'mydata.action': '内容',
    'mydata.outcome': '結果',
    'mydata.more': 'さらに古い記録を表示',
  },
};
