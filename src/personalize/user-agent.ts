/** What a page can adapt to about the device, read from the User-Agent string. */
export interface Device {
  type: 'mobile' | 'tablet' | 'desktop' | 'bot' | 'unknown';
  os: 'ios' | 'android' | 'windows' | 'macos' | 'linux' | 'chromeos' | 'other';
  browser: 'chrome' | 'safari' | 'firefox' | 'edge' | 'opera' | 'samsung' | 'other';
}

/**
 * A coarse classification by substrings, in the order that matters (Edge and Opera also say Chrome; Chrome also
 * says Safari; iPadOS 13+ desktop mode says Macintosh and is a desktop here). Enough for "mobile or desktop";
 * not a device database.
 */
export function parseUserAgent(ua: string | undefined): Device {
  if (!ua) return { type: 'unknown', os: 'other', browser: 'other' };
  const s = ua.toLowerCase();
  const os: Device['os'] = /iphone|ipad|ipod/.test(s) ? 'ios'
    : s.includes('android') ? 'android'
    : s.includes('windows') ? 'windows'
    : s.includes('cros') ? 'chromeos'
    : s.includes('mac os x') || s.includes('macintosh') ? 'macos'
    : s.includes('linux') ? 'linux'
    : 'other';
  const browser: Device['browser'] = /edg(e|a|ios)?\//.test(s) ? 'edge'
    : /opr\/|opera/.test(s) ? 'opera'
    : s.includes('samsungbrowser') ? 'samsung'
    : /firefox|fxios/.test(s) ? 'firefox'
    : /chrome|crios|chromium/.test(s) ? 'chrome'
    : s.includes('safari') ? 'safari'
    : 'other';
  const type: Device['type'] = /bot|crawler|spider|slurp|headless|lighthouse|curl\/|wget|python-requests/.test(s) ? 'bot'
    : /ipad|tablet|kindle|silk|playbook/.test(s) || (s.includes('android') && !s.includes('mobile')) ? 'tablet'
    : /mobi|iphone|ipod|windows phone/.test(s) ? 'mobile'
    : /windows|macintosh|x11|cros|linux/.test(s) ? 'desktop'
    : 'unknown';
  return { type, os, browser };
}
