// cors-lab engines, Firefox only: the privileged side, run in Marionette's chrome context.
// Owns: clearing every kind of site data for a fresh context, deleting cookies between scenarios,
// Firefox's console (where its CORS explanations go) and reading preferences back. Must not: change a
// preference.
//
// Executed as an asynchronous WebDriver script BODY: arguments = [command, payload, done].
//   ["clear"]                    Services.clearData CLEAR_ALL: caches (HTTP, image, preflight, auth),
//                                cookies, DOM storage, HSTS, permissions... and the console -> the flags
//                                that failed (0)
//   ["forget-cookies"]           every cookie, partitioned ones included (Services.cookies.removeAll)
//   ["console-take"]             [{type, text, url, category}] from web content since the last take; forgotten
//   ["prefs", {names}]           {name: value | null}
// Spec of the service: https://searchfox.org/mozilla-esr153/source/toolkit/components/cleardata/nsIClearDataService.idl
const [command, payload, done] = arguments;

function consoleRead() {
  return Services.console.getMessageArray().flatMap((m) => {
    let e;
    try {
      e = m.QueryInterface(Ci.nsIScriptError);
    } catch (x) {
      return [];
    }
    if (e.isFromChromeContext || /^(chrome|resource|moz-extension):/.test(e.sourceName)) return [];
    return [{ type: e.flags & Ci.nsIScriptError.warningFlag ? "warning" : "error", text: e.errorMessage,
      url: e.sourceName, category: e.category }];
  });
}

function prefs(names) {
  const p = Services.prefs;
  return Object.fromEntries(names.map((n) => {
    const t = p.getPrefType(n);
    const value = t === p.PREF_BOOL ? p.getBoolPref(n) : t === p.PREF_INT ? p.getIntPref(n)
      : t === p.PREF_STRING ? p.getStringPref(n) : null;
    return [n, value];
  }));
}

try {
  if (command === "clear") {
    Services.console.reset();
    Services.clearData.deleteData(Ci.nsIClearDataService.CLEAR_ALL, { onDataDeleted: (failed) => done(failed) });
  } else if (command === "forget-cookies") {
    Services.cookies.removeAll();
    done(Services.cookies.cookies.length);
  } else if (command === "console-take") {
    const taken = consoleRead();
    Services.console.reset();
    done(taken);
  } else if (command === "prefs") {
    done(prefs(payload.names));
  } else {
    done({ error: `unknown command ${command}` });
  }
} catch (e) {
  done({ error: `${e.name}: ${e.message}` });
}
