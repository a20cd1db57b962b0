import { api } from "../api.ts";
import { currentLang } from "../i18n.ts";
import type { PrivacyDocument } from "../types.ts";
import { ErrorText, useLoad } from "./ui.tsx";

/** The installation's privacy information (GET /api/privacy), in the dashboard's language. */
export function PrivacyInfo() {
  const lang = currentLang();
  const doc = useLoad(() => api.get<PrivacyDocument>("/api/privacy", { lang, format: "json" }), [lang]);
  return (
    <section class="card privacy" data-test="privacy" lang={lang}>
      <ErrorText error={doc.error} />
      {doc.data && (
        <>
          <h3 data-test="privacy-title">{doc.data.title}</h3>
          {doc.data.sections.map((s) => (
            <section key={s.id} data-test="privacy-section" data-section={s.id}>
              <h4>{s.heading}</h4>
              {s.paragraphs.map((p, i) => (
                <p key={i}>{p}</p>
              ))}
              {s.table && (
                <div class="table-scroll">
                  <table class="table">
                    <thead>
                      <tr>
                        {s.table.columns.map((c) => (
                          <th key={c}>{c}</th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {s.table.rows.map((r, i) => (
                        <tr key={i}>
                          {r.map((cell, j) => (
                            <td key={j}>{cell}</td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
          ))}
        </>
      )}
    </section>
  );
}
