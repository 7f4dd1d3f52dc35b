// put.io's JavaScript SDK (@putdotio/api-client 8.49.0) driven through its own methods against
// putiofs's v2 emulator. Every answer is checked against the shape the SDK's .d.ts declares for
// it (written out below per type, field by field), and what a call stores is read back.
//
// Run by tests/emulator/test_v2_js_sdk.py, which starts the emulator and seeds an archive.
// Environment: PUTIO_API_URL (the emulator's /v2 URL), PUTIO_TOKEN, PUTIO_USERNAME,
// PUTIO_PASSWORD, ARCHIVE_ID (a zip in the account). Prints one JSON line: {calls, failures}.
'use strict';

const http = require('http');
const PutioAPI = require('@putdotio/api-client').default;

// ------------------------------------------------------------------------------ shapes

const num = 'number', str = 'string', bool = 'boolean', nil = 'null', any = 'any';
const opt = (spec) => ({ $optional: spec });
const or = (...specs) => ({ $union: specs });
const oneOf = (...values) => ({ $enum: values });
const list = (spec) => ({ $array: spec });
const pair = (a, b) => ({ $tuple: [a, b] });
const record = (spec) => ({ $record: spec });
const ok = (fields) => Object.assign({ status: oneOf('OK') }, fields);

function problems(path, value, spec) {
  if (spec === any) return [];
  if (typeof spec === 'string') {
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    return actual === spec ? [] : [`${path}: expected ${spec}, got ${JSON.stringify(value)}`];
  }
  if (spec.$optional) return value === undefined ? [] : problems(path, value, spec.$optional);
  if (value === undefined) return [`${path}: missing`];
  if (spec.$union) {
    const tries = spec.$union.map((s) => problems(path, value, s));
    return tries.some((p) => p.length === 0) ? [] : tries.reduce((a, b) => (a.length <= b.length ? a : b));
  }
  if (spec.$enum) {
    return spec.$enum.includes(value) ? [] : [`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(spec.$enum)}`];
  }
  if (spec.$array) {
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${JSON.stringify(value)}`];
    return value.flatMap((item, i) => problems(`${path}[${i}]`, item, spec.$array));
  }
  if (spec.$tuple) {
    if (!Array.isArray(value) || value.length !== spec.$tuple.length) {
      return [`${path}: expected a ${spec.$tuple.length}-tuple, got ${JSON.stringify(value)}`];
    }
    return value.flatMap((item, i) => problems(`${path}[${i}]`, item, spec.$tuple[i]));
  }
  if (spec.$record) {
    if (typeof value !== 'object' || value === null) return [`${path}: expected an object`];
    return Object.entries(value).flatMap(([k, v]) => problems(`${path}.${k}`, v, spec.$record));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${path}: expected an object, got ${JSON.stringify(value)}`];
  }
  return Object.entries(spec).flatMap(([key, s]) => problems(`${path}.${key}`, value[key], s));
}

// resources/Account/types.d.ts
const IAccountSettings = {
  beta_user: bool, callback_url: str, dark_theme: bool, default_download_folder: num,
  disable_subtitles: bool, dont_autoselect_subtitles: bool, fluid_layout: bool,
  hide_subtitles: bool, history_enabled: bool, is_invisible: bool, locale: str,
  login_mails_enabled: bool, next_episode: bool, pushover_token: or(str, nil),
  show_optimistic_usage: bool, sort_by: str, start_from: bool,
  subtitle_languages: pair(or(str, nil), or(str, nil)), theater_mode: bool,
  theme: oneOf('dark', 'light', 'auto'), transfer_sort_by: str, trash_enabled: bool,
  tunnel_route_name: or(nil, str), two_factor_enabled: bool, use_private_download_ip: bool,
  use_start_from: bool, video_player: oneOf('html5', 'flash', null),
};
const IAccountInfo = {
  account_status: oneOf('active', 'inactive', 'stranger'), avatar_url: str,
  can_create_sub_account: bool, disk: { avail: num, used: num, size: num },
  download_token: opt(str), family_owner: opt(str), features: record(bool),
  files_will_be_deleted_at: or(str, nil), is_admin: bool,
  is_eligible_for_friend_invitation: bool, is_sub_account: bool, mail: str,
  monthly_bandwidth_usage: num, pas: opt({ user_hash: str }), push_token: opt(str),
  password_last_changed_at: or(str, nil), private_download_host_ip: or(str, nil),
  settings: IAccountSettings, trash_size: num, user_hash: str, user_id: num, username: str,
  warnings: { callback_url_has_failed: opt(bool), pushover_token_has_failed: opt(bool) },
};
const IAccountConfirmation = {
  subject: oneOf('mail_change', 'password_change', 'subscription_upgrade'), created_at: str,
};
// resources/Auth/types.d.ts
const ILoginResponse = { access_token: str, user_id: num };
const IValidateTokenResponse = {
  result: bool, token_id: num, token_scope: oneOf('default', 'two_factor'), user_id: num,
};
const OAuthApp = { id: num, name: str, description: str, website: str, has_icon: bool };
// resources/Files/types.d.ts
const FileType = oneOf('FOLDER', 'FILE', 'AUDIO', 'VIDEO', 'IMAGE', 'ARCHIVE', 'PDF', 'TEXT', 'SWF');
const IFile = {
  id: num, parent_id: num, name: str, size: num, file_type: FileType, content_type: str,
  extension: or(str, nil), crc32: or(str, nil), created_at: str,
};
// The root and the synthetic "shared with you" folder have no parent (parent_id null).
const IFolder = Object.assign({}, IFile, { parent_id: or(num, nil) });
const ISearchResponse = { files: list(IFile), total: num, cursor: or(str, nil) };
const IFileDeleteResponse = { skipped: num, cursor: or(str, nil) };
const FileConversionStatus = or(
  { id: num, status: oneOf('NOT_AVAILABLE') }, { id: num, status: oneOf('IN_QUEUE') },
  { id: num, status: oneOf('CONVERTING'), percent_done: num },
  { id: num, status: oneOf('COMPLETED'), size: num }, { id: num, status: oneOf('ERROR') },
);
// resources/Friends/types.d.ts
const IFriend = { id: num, name: str, avatar_url: str, has_received_files: bool, has_shared_files: bool };
const IUserSearchResult = { id: num, name: str, avatar_url: str, invited: bool };
// resources/FriendInvites/types.d.ts
const IFriendInvite = { code: str, created_at: str, user: opt(any) };
// resources/Events/types.d.ts (the types the emulator posts)
const eventBase = { id: num, created_at: str, user_id: num };
const IHistoryEvent = or(
  Object.assign({ type: oneOf('upload'), file_id: num, file_name: str, file_size: num }, eventBase),
  Object.assign({ type: oneOf('transfer_completed'), source: str, transfer_name: str, file_id: num, transfer_size: num }, eventBase),
  Object.assign({ type: oneOf('transfer_error'), source: str, transfer_name: str }, eventBase),
);
// resources/Transfers/types.d.ts (BaseTransfer; the SDK's Transfer adds nothing the emulator sends)
const iso = str;
const Transfer = {
  availability: or(nil, num), created_at: iso, current_ratio: or(nil, num), down_speed: num,
  downloaded: num, error_message: or(nil, str), estimated_time: or(nil, num),
  file_id: or(nil, num), finished_at: or(nil, iso), id: num, is_private: bool, name: str,
  save_parent_id: num, seconds_seeding: or(nil, num), size: num, source: str,
  started_at: or(nil, iso),
  status: oneOf('WAITING', 'PREPARING_DOWNLOAD', 'IN_QUEUE', 'DOWNLOADING',
    'WAITING_FOR_COMPLETE_QUEUE', 'WAITING_FOR_DOWNLOADER', 'COMPLETING', 'STOPPING',
    'SEEDING', 'COMPLETED', 'ERROR'),
  type: oneOf('URL', 'TORRENT', 'PLAYLIST', 'LIVE_STREAM', 'N/A'), subscription_id: or(nil, num),
  uploaded: num, up_speed: num, callback_url: or(nil, str), client_ip: or(nil, str),
  completion_percent: num, percent_done: num, created_torrent: bool, download_id: num,
  hash: or(nil, str), links: list({ url: str, label: str }), peers_connected: num,
  peers_getting_from_us: num, peers_sending_to_us: num, simulated: bool,
  torrent_link: or(nil, str), tracker: or(nil, str), tracker_message: or(nil, str),
  updated_at: opt(iso), userfile_exists: opt(bool),
};
const NewTransferError = { url: str, status_code: num, error_type: str };
const ITransfersResponse = { transfers: list(Transfer), total: num, cursor: or(str, nil) };
// resources/DownloadLinks/types.d.ts, resources/Sharing/types.d.ts
const Statuses = oneOf('NEW', 'PROCESSING', 'DONE', 'ERROR');
const IDownloadLinksInfoResponse = {
  links: { download_links: list(str), mp4_links: list(str), media_links: list(str) },
  links_status: Statuses,
};
// Declared `any` by the SDK: the emulator's own shapes (docs/emulators.md), checked too.
const Zip = { id: num, created_at: str, size: or(num, nil), zip_status: str, url: or(str, nil), missing_files: list(num) };
const Extraction = { id: num, name: str, status: oneOf('NEW', 'EXTRACTING', 'DONE', 'ERROR'), message: or(str, nil), percent_done: num, num_parts: num, user_file_id: num };
const NextFile = { id: num, name: str, parent_id: num };

// -------------------------------------------------------------------------------- calls

const failures = [];
let calls = 0;

function fail(name, message) {
  failures.push(`${name}: ${message}`);
}

async function call(name, run, shape) {
  calls += 1;
  let response;
  try {
    response = await run();
  } catch (error) {
    const data = error && error.data ? error.data : {};
    fail(name, `failed: ${data.status_code || ''} ${data.error_type || ''} ${data.error_message || error}`);
    return undefined;
  }
  if (shape !== undefined) {
    for (const problem of problems('data', response.data, ok(shape))) fail(name, problem);
  }
  return response.data;
}

async function rejects(name, run, errorType) {
  calls += 1;
  try {
    await run();
    fail(name, `succeeded, expected ${errorType}`);
  } catch (error) {
    const data = (error && error.data) || {};
    if (data.error_type !== errorType) fail(name, `error_type ${data.error_type}, expected ${errorType}`);
    for (const problem of problems('error', data, { error_type: str, error_message: str, status_code: num, extra: any })) fail(name, problem);
  }
}

function expect(name, condition, message) {
  if (!condition) fail(name, message);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(name, probe, seconds = 15) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      fail(name, 'did not happen in time');
      return undefined;
    }
    await sleep(100);
  }
}

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function main() {
  const env = process.env;
  const api = new PutioAPI({ baseURL: env.PUTIO_API_URL, clientID: 8993 });
  api.setToken(env.PUTIO_TOKEN);
  const byName = async (parent, name) => {
    const data = await call(`Files.Query(${parent})`, () => api.Files.Query(parent, { perPage: 100 }),
      { files: list(IFile), parent: IFolder, cursor: or(str, nil) });
    const found = data && data.files.find((f) => f.name === name);
    if (!found) fail('lookup', `no ${name} in ${parent}`);
    return found || { id: -1 };
  };

  // ---- Auth: password sign-in, validate, device codes, logout
  const login = await call('Auth.Login', () => api.Auth.Login({
    username: env.PUTIO_USERNAME, password: env.PUTIO_PASSWORD,
    app: { client_id: '8993', client_secret: 'emulator' },
  }), ILoginResponse);
  await rejects('Auth.Login (wrong password)', () => api.Auth.Login({
    username: env.PUTIO_USERNAME, password: 'wrong', app: { client_id: '8993', client_secret: 'x' },
  }), 'INVALID_CREDENTIALS');
  const valid = await call('Auth.ValidateToken', () => api.Auth.ValidateToken(login.access_token), IValidateTokenResponse);
  expect('Auth.ValidateToken', valid && valid.result === true, 'the signed-in token is not valid');
  const code = await call('Auth.GetCode', () => api.Auth.GetCode(8993, 'js-sdk'), { code: str, qr_code_url: str });
  await call('Auth.CheckCodeMatch', () => api.Auth.CheckCodeMatch(code.code), { oauth_token: or(str, nil) });
  await call('Auth.LinkDevice', () => api.Auth.LinkDevice(code.code), { app: OAuthApp });
  const linked = await call('Auth.CheckCodeMatch (linked)', () => api.Auth.CheckCodeMatch(code.code), { oauth_token: str });
  expect('Auth.LinkDevice', linked && linked.oauth_token, 'the linked code earned no token');
  const other = new PutioAPI({ baseURL: env.PUTIO_API_URL }).setToken(login.access_token);
  await call('Auth.Logout', () => other.Auth.Logout(), {});
  const after = await call('Auth.ValidateToken (logged out)', () => api.Auth.ValidateToken(login.access_token), { result: bool });
  expect('Auth.Logout', after && after.result === false, 'the token survived its logout');

  // ---- Account
  await call('Account.Info', () => api.Account.Info(), { info: IAccountInfo });
  const full = await call('Account.Info (flags)', () => api.Account.Info({ download_token: 1, pas: 1, push_token: 1, features: 1 }),
    { info: Object.assign({}, IAccountInfo, { download_token: str, pas: { user_hash: str }, push_token: str }) });
  await call('User.Info', () => api.User.Info({}), { info: IAccountInfo });
  await call('Account.Settings', () => api.Account.Settings(), { settings: IAccountSettings });
  await call('Account.SaveSettings', () => api.Account.SaveSettings({
    theme: 'dark', dark_theme: true, locale: 'tr', subtitle_languages: ['tur', 'eng'],
    video_player: 'html5', transfer_sort_by: 'NAME_ASC', use_start_from: false, fluid_layout: true,
  }));
  const saved = await call('Account.Settings (read back)', () => api.Account.Settings(), { settings: IAccountSettings });
  if (saved) {
    const s = saved.settings;
    expect('Account.SaveSettings', s.theme === 'dark' && s.dark_theme && s.locale === 'tr'
      && s.subtitle_languages.join() === 'tur,eng' && s.transfer_sort_by === 'NAME_ASC'
      && s.use_start_from === false && s.fluid_layout === true, `not stored: ${JSON.stringify(s)}`);
  }
  await rejects('Account.SaveSettings (bad theme)', () => api.Account.SaveSettings({ theme: 'pink' }), 'BadRequest');
  await call('User.SaveSettings', () => api.User.SaveSettings({ theme: 'light' }));
  await call('User.Settings', () => api.User.Settings(), { settings: Object.assign({}, IAccountSettings, { theme: oneOf('light') }) });
  await call('Account.SaveSettings (mail)', () => api.Account.SaveSettings({ mail: 'new@example.invalid', current_password: env.PUTIO_PASSWORD }));
  const confirmations = await call('Account.Confirmations', () => api.Account.Confirmations(), { confirmations: list(IAccountConfirmation) });
  expect('Account.Confirmations', confirmations && confirmations.confirmations.some((c) => c.subject === 'mail_change'), 'no mail_change confirmation');
  await call('User.Confirmations', () => api.User.Confirmations('mail_change'), { confirmations: list(IAccountConfirmation) });
  const info = await call('Account.Info (mail)', () => api.Account.Info(), { info: { mail: oneOf('new@example.invalid') } });
  expect('Account.Info', info && full && info.info.user_hash === full.info.user_hash, 'user_hash changed');

  // ---- Config (per app)
  await call('Config.Write', () => api.Config.Write({ volume: 0.5, recent: [1, 2] }), {});
  await call('Config.Read', () => api.Config.Read(), { config: { volume: oneOf(0.5), recent: list(num) } });
  await call('Config.SetKey', () => api.Config.SetKey('layout', { grid: true }), {});
  await call('Config.GetKey', () => api.Config.GetKey('layout'), { value: { grid: oneOf(true) } });
  await call('Config.DeleteKey', () => api.Config.DeleteKey('layout'), {});
  await call('Config.GetKey (deleted)', () => api.Config.GetKey('layout'), { value: nil });
  await call('User.SaveConfig', () => api.User.SaveConfig({ only: 'this' }), {});
  await call('User.Config', () => api.User.Config(), { config: { only: oneOf('this'), volume: opt(nil) } });
  const app2 = await call('Auth.Login (another app)', () => api.Auth.Login({
    username: env.PUTIO_USERNAME, password: env.PUTIO_PASSWORD, app: { client_id: '4131', client_secret: 's' },
  }), ILoginResponse);
  const rclone = new PutioAPI({ baseURL: env.PUTIO_API_URL }).setToken(app2.access_token);
  await call('Config.Read (another app)', () => rclone.Config.Read(), { config: { only: opt(nil) } });

  // ---- Files
  const movies = await byName(0, 'Movies');
  const clips = await byName(movies.id, 'Demo Clips');
  const video = await byName(clips.id, 'Test Pattern (10s).mp4');
  const documents = await byName(0, 'Documents');
  const listing = await call('Files.Query (options)', () => api.Files.Query(documents.id, {
    perPage: 2, sortBy: 'NAME_DESC', streamUrl: true, mp4Status: true, breadcrumbs: true, total: true,
  }), { files: list(Object.assign({ stream_url: or(str, nil) }, IFile)), parent: IFile, cursor: str, total: num, breadcrumbs: list(any) });
  await call('Files.Continue', () => api.Files.Continue(listing.cursor, { perPage: 2 }), { files: list(IFile), cursor: or(str, nil) });
  const search = await call('Files.Search', () => api.Files.Search('notes', { perPage: 1 }), ISearchResponse);
  await call('Files.ContinueSearch', () => api.Files.ContinueSearch(search.cursor), ISearchResponse);
  await call('Files.Search (type)', () => api.Files.Search('notes', { perPage: 10, fileType: ['TEXT', 'VIDEO'] }), ISearchResponse);
  const made = await call('Files.NewFolder', () => api.Files.NewFolder('From JS'), { file: IFile });
  await call('Files.CreateFolder (path)', () => api.Files.CreateFolder({ path: 'From JS/a/b' }), { file: IFile });
  const target = await call('Files.CreateFolder', () => api.Files.CreateFolder({ name: 'Target', parentId: made.file.id }), { file: IFile });
  await call('File.Rename', () => api.File.Rename(made.file.id, 'From the JS SDK'), { file: IFile });
  const scratch = await call('Files.NewFolder (scratch)', () => api.Files.NewFolder('scratch', made.file.id), { file: IFile });
  for (const name of ['x1', 'x2', 'x3']) await api.Files.NewFolder(name, scratch.file.id);
  await call('Files.Move', () => api.Files.Move([scratch.file.id], target.file.id), { errors: list(any) });
  const page = await call('Files.Query (page)', () => api.Files.Query(scratch.file.id, { perPage: 1 }), { cursor: str });
  const first = (await api.Files.Query(scratch.file.id, { perPage: 100 })).data.files;
  await call('Files.MoveAll', () => api.Files.MoveAll({ cursor: page.cursor, excludeIds: [first[2].id], to: target.file.id }), { errors: list(any) });
  const moved = (await api.Files.Query(target.file.id)).data.files.map((f) => f.name).sort();
  expect('Files.MoveAll', moved.join() === 'scratch,x2', `moved ${moved}`);
  const del = await api.Files.Query(scratch.file.id, { perPage: 1 });
  await call('Files.DeleteAll', () => api.Files.DeleteAll(del.data.cursor, [], { skipTrash: true }), IFileDeleteResponse);
  await call('Files.Delete', () => api.Files.Delete([first[0].id]), IFileDeleteResponse);
  await call('File.Download', () => api.File.Download(video.id));
  await call('File.GetStorageURL', () => api.File.GetStorageURL(video.id), { url: str });
  await call('File.GetContent', () => api.File.GetContent(video.id));
  await call('File.Subtitles', () => api.File.Subtitles(video.id, env.PUTIO_TOKEN, ['eng']), { subtitles: list(any) });
  const hls = await get(api.File.GetHLSStreamURL(video.id, { subtitleLanguages: ['eng'], playOriginal: true }));
  calls += 1;
  const playlist = hls.body.toString();
  expect('File.GetHLSStreamURL', hls.status === 200 && /mpegurl/i.test(hls.headers['content-type'] || '')
    && playlist.startsWith('#EXTM3U') && playlist.includes('#EXT-X-ENDLIST'), `not a playlist: ${hls.status} ${playlist}`);
  const segment = playlist.split('\n').find((line) => line && !line.startsWith('#'));
  const streamed = segment ? await get(segment) : { status: 0, body: Buffer.alloc(0) };
  expect('File.GetHLSStreamURL', streamed.status === 200 && streamed.body.length === video.size, 'the playlist does not point at the file');
  await call('File.ConvertToMp4', () => api.File.ConvertToMp4(video.id), { mp4: FileConversionStatus });
  await call('Files.ConvertToMp4', () => api.Files.ConvertToMp4({ ids: [video.id] }), { count: num });
  await until('File.ConvertStatus', async () => {
    const status = await call('File.ConvertStatus', () => api.File.ConvertStatus(video.id), { mp4: FileConversionStatus });
    return status && status.mp4.status === 'COMPLETED';
  });
  await call('File.SaveAsMp4', () => api.File.SaveAsMp4(video.id));
  const mp4s = (await api.Files.Query(clips.id)).data.files.filter((f) => f.name.endsWith('.mp4'));
  expect('File.SaveAsMp4', mp4s.length === 2, `the mp4 is not in the folder: ${mp4s.map((f) => f.name)}`);
  await call('File.DeleteMp4', () => api.File.DeleteMp4(video.id), {});
  await call('File.ConvertStatus (deleted)', () => api.File.ConvertStatus(video.id), { mp4: { id: num, status: oneOf('NOT_AVAILABLE') } });
  await call('File.SetStartFrom', () => api.File.SetStartFrom(video.id, '42'));
  await call('File.GetStartFrom', () => api.File.GetStartFrom(video.id), { start_from: oneOf(42) });
  await call('File.ResetStartFrom', () => api.File.ResetStartFrom(video.id));
  await call('File.GetStartFrom (reset)', () => api.File.GetStartFrom(video.id), { start_from: oneOf(0) });
  await call('Files.SetWatchStatus', () => api.Files.SetWatchStatus({ ids: [video.id], watched: true }));
  // The copy ("Test Pattern (10s) (2).mp4") sorts before the original by name.
  const copy = mp4s.find((f) => f.id !== video.id) || { id: -1 };
  const next = await call('File.FindNextFile', () => api.File.FindNextFile(copy.id, 'VIDEO'), { next_file: NextFile });
  expect('File.FindNextFile', next && next.next_file.id === video.id, 'not the next video of the folder');
  await call('File.FindNextVideo', () => api.File.FindNextVideo(copy.id), { next_video: Object.assign({}, NextFile, { id: oneOf(video.id) }) });
  await rejects('File.FindNextVideo (last)', () => api.File.FindNextVideo(video.id), 'NEXT_FILE_NOT_FOUND');

  // ---- Extract
  const archive = Number(env.ARCHIVE_ID);
  await call('File.Extract', () => api.File.Extract(archive), { extractions: list(Extraction) });
  const done = await until('Files.ExtractStatus', async () => {
    const status = await call('Files.ExtractStatus', () => api.Files.ExtractStatus(), { extractions: list(Extraction) });
    const job = status && status.extractions.find((e) => e.user_file_id === archive);
    return job && job.status === 'DONE' && job;
  });
  if (done) {
    const unpacked = (await api.Files.Query(done.folder_id)).data.files.map((f) => f.name).sort();
    expect('File.Extract', unpacked.join() === 'inner,readme.txt', `unpacked ${unpacked}`);
  }
  await call('Files.Extract', () => api.Files.Extract({ ids: [archive] }), { extractions: list(Extraction) });

  // ---- Zips
  const zip = await call('Zips.Create', () => api.Zips.Create({ ids: [documents.id] }), { zip_id: num });
  await call('Zips.Cancel', () => api.Zips.Cancel(zip.zip_id), { zip: Object.assign({}, Zip, { zip_status: oneOf('CANCELLED') }) });
  await call('Zips.Retry', () => api.Zips.Retry(zip.zip_id), { zip: Object.assign({}, Zip, { zip_status: oneOf('NEW', 'PROCESSING', 'DONE') }) });
  await call('Zips.Query', () => api.Zips.Query(), { zips: list(Zip) });
  await until('Zips.Get', async () => {
    const got = await call('Zips.Get', () => api.Zips.Get(zip.zip_id), Zip);
    return got && got.zip_status === 'DONE' && got.url;
  });
  const listedPage = await api.Files.Query(0, { perPage: 1 });
  await call('Zips.Create (cursor)', () => api.Zips.Create({ cursor: listedPage.data.cursor, ids: [] }), { zip_id: num });

  // ---- Download links
  const links = await call('DownloadLinks.Create', () => api.DownloadLinks.Create({ ids: [clips.id] }), { id: num });
  const ready = await until('DownloadLinks.Get', async () => {
    const got = await call('DownloadLinks.Get', () => api.DownloadLinks.Get(links.id), IDownloadLinksInfoResponse);
    return got && got.links_status === 'DONE' && got;
  });
  expect('DownloadLinks.Get', ready && ready.links.download_links.length >= 3 && ready.links.media_links.length === 2, 'links missing');

  // ---- Friends, sharing
  const friends = await call('Friends.Query', () => api.Friends.Query(), { friends: list(IFriend), total: num });
  expect('Friends.Query', friends && friends.friends.some((f) => f.name === 'alice' && f.has_shared_files), 'alice shares nothing');
  await call('Friends.Search', () => api.Friends.Search('e'), { users: list(IUserSearchResult) });
  await call('Friends.SendFrienshipRequest', () => api.Friends.SendFrienshipRequest('bob'));
  const bob = await call('Friends.Search (invited)', () => api.Friends.Search('bob'), { users: list(IUserSearchResult) });
  expect('Friends.SendFrienshipRequest', bob && bob.users[0].invited === true, 'bob is not invited');
  await call('Friends.WaitingRequests', () => api.Friends.WaitingRequests(), { friends: list({ id: num, name: str, avatar_url: str }) });
  await call('Friends.WaitingRequestsCount', () => api.Friends.WaitingRequestsCount(), { count: oneOf(1) });
  await call('Friends.Approve', () => api.Friends.Approve('carol'));
  const withCarol = await call('Friends.Query (approved)', () => api.Friends.Query(), { friends: list(IFriend) });
  expect('Friends.Approve', withCarol && withCarol.friends.some((f) => f.name === 'carol'), 'carol is no friend');
  await rejects('Friends.Deny (none)', () => api.Friends.Deny('dave'), 'REQUEST_NOT_FOUND');
  await call('Friends.SharedFolder', () => api.Friends.SharedFolder('alice'), { files: list(IFile) });
  await call('Friends.Remove', () => api.Friends.Remove('carol'));
  await call('FriendInvites.Create', () => api.FriendInvites.Create(), { code: str });
  await call('FriendInvites.GetAll', () => api.FriendInvites.GetAll(), { invites: list(IFriendInvite), remaining_limit: num });
  const shared = await call('Files.Query (friends)', () => api.Files.Query('friends'), { files: list(IFile), parent: IFolder });
  const holiday = shared && shared.files[0];
  await call('Sharing.Clone', () => api.Sharing.Clone({ ids: [holiday.id], parentId: made.file.id }), { id: num });
  const cloneId = (await api.Sharing.Clone({ ids: [holiday.id] })).data.id;
  await call('Sharing.CloneInfo', () => api.Sharing.CloneInfo(cloneId), { shared_file_clone_status: Statuses });
  await call('Files.Share', () => api.Files.Share({ ids: [documents.id], friends: 'alice' }));
  await call('Files.SharedOnes', () => api.Files.SharedOnes(), { shared: list({ file_id: num, file_name: str, shared_with: or(str, num) }) });
  const sharedWith = await call('File.SharedWith', () => api.File.SharedWith(documents.id), { 'shared-with': list({ share_id: num, user_name: str }) });
  await call('File.Unshare', () => api.File.Unshare(documents.id, sharedWith['shared-with'][0].share_id));
  await call('File.Unshare (everyone)', () => api.File.Unshare(documents.id));
  const publicShare = await call('File.CreatePublicLink (route)', () => api.post(`/files/${documents.id}/share_public`), { public_share: { id: num, token: str, url: str } });
  await call('Files.PublicShares', () => api.Files.PublicShares(), { public_shares: list({ id: num, token: str, url: str, user_file: { id: num, name: str } }) });
  const opened = await get(publicShare.public_share.url);
  calls += 1;
  const publicBody = opened.status === 200 ? JSON.parse(opened.body) : {};
  expect('public share', opened.status === 200 && publicBody.parent.id === documents.id && publicBody.files.length > 0, `not reachable by its token: ${opened.status}`);

  // ---- Transfers
  const added = await call('Transfers.Add', () => api.Transfers.Add({ url: 'http://example.com/a.iso', save_parent_id: made.file.id }), { transfer: Transfer });
  const multi = await call('Transfers.AddMulti', () => api.Transfers.AddMulti([
    { url: 'http://example.com/b.iso' }, { url: 'magnet:?xt=urn:btih:abc&dn=c' }, { url: '' },
  ]), { transfers: list(Transfer), errors: list(NewTransferError) });
  expect('Transfers.AddMulti', multi && multi.transfers.length === 2 && multi.errors.length === 1, 'not two transfers and one error');
  await call('Transfers.Get', () => api.Transfers.Get(added.transfer.id), { transfer: Transfer });
  const transfers = await call('Transfers.Query', () => api.Transfers.Query({ perPage: 1, total: true }), ITransfersResponse);
  await call('Transfers.Continue', () => api.Transfers.Continue(transfers.cursor, { perPage: 1 }), ITransfersResponse);
  await call('Transfers.Count', () => api.Transfers.Count(), { count: num });
  await call('Transfers.Reannounce', () => api.Transfers.Reannounce(multi.transfers[1].id));
  await call('Transfers.Retry', () => api.Transfers.Retry(added.transfer.id), { transfer: Transfer });
  await call('Transfers.Cancel', () => api.Transfers.Cancel([multi.transfers[0].id]), {});
  await until('transfers finish', async () => (await api.Transfers.Get(added.transfer.id)).data.transfer.status === 'COMPLETED');
  await call('Transfers.ClearAll', () => api.Transfers.ClearAll(), {});

  // ---- Events, trash
  const events = await call('Events.Query', () => api.Events.Query(), { events: list(IHistoryEvent) });
  if (events && events.events.length) {
    await call('Events.Delete', () => api.Events.Delete(events.events[0].id), { success: oneOf('OK') });
  }
  await call('Events.Clear', () => api.Events.Clear(), { success: oneOf('OK') });
  await api.Files.Delete([target.file.id]);
  const trash = await call('Trash.List', () => api.Trash.List({ limit: 1 }), { files: list(IFile), cursor: or(str, nil) });
  if (trash && trash.cursor) await call('Trash.Continue', () => api.Trash.Continue(trash.cursor), { files: list(IFile) });
  await call('Trash.Restore', () => api.Trash.Restore({ ids: [target.file.id] }));
  await api.Files.Delete([target.file.id]);
  await call('Trash.Delete', () => api.Trash.Delete({ ids: [target.file.id] }));
  await call('Trash.Empty', () => api.Trash.Empty());

  // ---- Unserved areas answer put.io's error envelope
  await rejects('Payment.Info (unserved)', () => api.Payment.Info(), 'NotFound');
  await rejects('Auth.TwoFactor.GenerateTOTP (unserved)', () => api.Auth.TwoFactor.GenerateTOTP(), 'NotFound');
  await rejects('Tunnel.Routes (unserved)', () => api.Tunnel.Routes(), 'NotFound');

  // ---- Account.Clear, Account.Destroy (last: they empty the account)
  await call('Account.Clear', () => api.Account.Clear({ history: true, finished_transfers: true, active_transfers: true, files: false, trash: true, friends: false, rss_feeds: false, rss_logs: false }), {});
  await rejects('Account.Destroy (wrong password)', () => api.Account.Destroy('nope'), 'INVALID_PASSWORD');
  await call('User.ClearData', () => api.User.ClearData({ files: true }), {});
  const emptied = await call('Files.Query (cleared)', () => api.Files.Query(0), { files: list(IFile) });
  expect('Account.Clear', emptied && emptied.files.length === 0, 'files are left');
  await call('Account.Destroy', () => api.Account.Destroy(env.PUTIO_PASSWORD), {});
}

main().then(() => {
  process.stdout.write(`${JSON.stringify({ calls, failures })}\n`);
  process.exit(failures.length ? 1 : 0);
}, (error) => {
  process.stdout.write(`${JSON.stringify({ calls, failures: failures.concat([`crashed: ${error && error.stack}`]) })}\n`);
  process.exit(2);
});
